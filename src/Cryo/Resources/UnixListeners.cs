using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;

namespace Cryo.Resources;

/// <summary>
/// Listening Unix sockets (ULSN), for <see cref="UnixSockets"/>: a daemon's control socket, a
/// Python multiprocessing manager's listener, a local server. Saved: the bound name (a path, or an
/// abstract name), type, backlog and SO_PASSCRED, and for a path the socket file's identity, mode
/// and owner. A restore removes the socket file the killed process left at the path (only that
/// very file: same device and inode), binds a new socket there, gives the file its mode and owner
/// back, and listens. Refused: a listener with connections waiting to be accepted, one bound to a
/// relative path, one whose socket file is gone or was replaced. docs/engine-files.md, "Listening Unix sockets".
/// </summary>
internal static class UnixListeners
{
    public static UnixListener Dump(OpenFile file, int copy, Native.UnixDiag diag, Func<string, UnsupportedResourceException> refuse, string what)
    {
        if (diag.ReceiveQueue > 0)
            throw refuse($"{diag.ReceiveQueue} connection(s) wait in its queue to be accepted, which cannot be saved: checkpoint again once the program has accepted them");
        byte[] name = diag.Name is { Length: > 0 } bound ? UnixSocketNames.AsBound(bound) : throw refuse("a listening Unix socket without a name");
        uint options = Native.GetSocketOption(copy, Native.SO_PASSCRED, what) != 0 ? UnixSocket.PassCredentials : 0;
        if (name[0] == 0)
            return new UnixListener(file.Fd, (UnixSocketType)diag.Type, name, diag.WriteQueue, options, 0, 0, 0, 0, 0);

        string path = Encoding.UTF8.GetString(name);
        if (name[0] != (byte)'/') throw refuse($"it is bound to the relative path '{path}', which names no file once the working directory changed");
        ulong device = FileStatus.Makedev(diag.FileDevice >> 20, diag.FileDevice & 0xfffff);
        var status = Native.TryLstat(name, out int errno);
        if (status is not { } file0 || file0.Type != FileStatus.S_IFSOCK || file0.Inode != diag.FileInode || file0.Device != device)
            throw refuse($"its socket file {path} is {(status is null ? $"gone ({ErrnoNames.Name(errno)})" : "another file now")}, so no program could reach it by its name");
        return new UnixListener(file.Fd, (UnixSocketType)diag.Type, name, diag.WriteQueue, options, device, file0.Inode, file0.Mode, file0.Uid, file0.Gid);
    }

    /// <summary>
    /// A listener in cryo bound where the image's was. A path still holding the socket file of the
    /// checkpoint (same device and inode: the killed process's, which nobody listens on now) is
    /// removed first; any other file there fails the restore, as does an abstract name in use.
    /// The checkpointed process cannot still be listening on that file: its pid would be taken,
    /// and the restore fails at its birth, before any descriptor is made.
    /// </summary>
    public static int Open(UnixListener item, string what)
    {
        int fd = Native.Socket(Native.AF_UNIX, (int)item.Type | Native.SOCK_CLOEXEC, 0, what);
        try
        {
            if ((item.Options & UnixSocket.PassCredentials) != 0) Native.SetSocketOption(fd, Native.SO_PASSCRED, 1, what);
            string name = UnixSocketNames.Show(item.Name);
            if (!item.IsAbstract && Native.TryLstat(item.Name, out _) is { } there)
            {
                if (there.Type != FileStatus.S_IFSOCK || there.Device != item.FileDevice || there.Inode != item.FileInode)
                    throw new InvalidOperationException($"{what}: cannot bind to {name} again: another file is there now (mode 0{Convert.ToString(there.Mode, 8)}, inode {there.Inode})");
                Native.UnlinkOrThrow(item.Name, $"{what}: the socket file the checkpointed process left at {name}");
            }
            // unix_diag always shows the backlog: 0 is one (listen(fd, 0)), not "unknown".
            int backlog = (int)Math.Min(item.Backlog, int.MaxValue);
            try { Native.BindUnixAndListen(fd, item.Name, backlog, what); }
            catch (SysCallException e) when (e.Errno == ErrnoNames.EADDRINUSE)
            {
                throw new InvalidOperationException($"{what}: cannot listen on {name} again: the name is in use (the original, if it was left running, or another program)");
            }
            catch (SysCallException e) when (e.Errno == ErrnoNames.ENOENT && !item.IsAbstract)
            {
                throw new InvalidOperationException($"{what}: cannot listen on {name} again: its directory {Path.GetDirectoryName(name)} is gone " +
                    "(removed after the checkpoint, e.g. by the original's own clean-up when it ended); cryo does not make directories");
            }
            if (!item.IsAbstract) Native.SetOwnerAndMode(item.Name, item.FileMode, item.FileUid, item.FileGid, what);
            return fd;
        }
        catch
        {
            Native.Close(fd);
            throw;
        }
    }
}
