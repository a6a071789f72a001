// The target of a /proc/<pid>/fd/<n> link for a socket (fs/proc/fd.c, net/socket.c
// sockfs_dname): "socket:[12345]", the socket's inode, which /proc/net/* rows carry too.

export function socketInode(linkTarget: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(linkTarget);
  return m ? Number(m[1]) : undefined;
}
