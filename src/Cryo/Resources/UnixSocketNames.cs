using System.Runtime.ExceptionServices;
using System.Text;
using Cryo.Format;
using Cryo.Interop;

namespace Cryo.Resources;

/// <summary>
/// The names of Unix sockets, for <see cref="UnixSockets"/> and <see cref="UnixListeners"/>: how a
/// name unix_diag shows is kept, how it is shown in messages, and how a named connection
/// (USNM) is made again. A socket's name is the string it was bound with, nothing else: an
/// accepted socket has its listener's, a client the one it bound itself, and getpeername shows
/// the peer's. The only way to give a connected socket a name is to bind it before it connects,
/// or to accept it from a listener bound to the name. So each named pair is made by a connection
/// to a listener of cryo's own, bound to the name for an instant. For a path that is done in a
/// private root (a temporary directory, chroot for one thread of cryo's): the name is the same
/// string, while the real path is left alone, whether a socket file of the killed process or of
/// the restored listener is there, or its directory is gone. docs/engine-files.md, "Named connected Unix sockets".
/// </summary>
internal static class UnixSocketNames
{
    /// <summary>
    /// A name as unix_diag shows it, as bound: an abstract name whole, a path up to its first NUL
    /// (the kernel keeps the terminating NUL of a path bound with one).
    /// </summary>
    public static byte[] AsBound(byte[] name)
    {
        if (name.Length == 0 || name[0] == 0) return name;
        int end = Array.IndexOf(name, (byte)0);
        return end >= 0 ? name[..end] : name;
    }

    /// <summary>A name for messages (cryo-dump shows names the same way).</summary>
    public static string Show(byte[] name) => UnixSocketName.Display(name);

    /// <summary>One connection to make: its listener's name (the accepted end's), the connecting end's own name or null, and the socket type.</summary>
    public sealed record Connection(byte[] ListenerName, byte[]? ConnectorName, UnixSocketType Type, string What);

    /// <summary>
    /// The connections made, in order: (accepted end, connecting end), cryo's descriptors. Each
    /// is made by a listener bound to its name, which is closed at once after it accepted (and
    /// its socket file removed), so several connections of one name (a listener's accepted
    /// sockets) are made one after the other. Made on a thread of its own: paths resolve in a
    /// temporary root, which is removed afterwards; abstract names are in cryo's network
    /// namespace, where the name must be free (the caller makes these before any listener of the
    /// image). Nothing is left open if one fails.
    /// </summary>
    public static List<(int Accepted, int Connector)> Connect(IReadOnlyList<Connection> connections)
    {
        var made = new List<(int Accepted, int Connector)>();
        if (connections.Count == 0) return made;
        var root = Directory.CreateTempSubdirectory("cryo-names-");
        ExceptionDispatchInfo? failure = null;
        try
        {
            // Only syscalls through cryo's own interop run in the private root: nothing there may
            // need a file of the runtime's (a lazily loaded assembly would not be found).
            var thread = new Thread(() =>
            {
                try
                {
                    Native.EnterPrivateRoot(root.FullName, "a private root for binding Unix socket names");
                    foreach (var connection in connections) made.Add(ConnectOne(connection));
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
            }) { IsBackground = true, Name = "cryo unix names" };
            thread.Start();
            thread.Join();
            failure?.Throw();
            return made;
        }
        catch
        {
            foreach (var (accepted, connector) in made)
            {
                Native.Close(accepted);
                Native.Close(connector);
            }
            throw;
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static (int Accepted, int Connector) ConnectOne(Connection connection)
    {
        string what = $"{connection.What}: its connection to {Show(connection.ListenerName)}";
        int type = (int)connection.Type | Native.SOCK_CLOEXEC;
        int listener = Native.Socket(Native.AF_UNIX, type, 0, what), connector = -1, accepted = -1;
        try
        {
            Bind(listener, connection.ListenerName, what);
            Native.Listen(listener, 1, what);
            connector = Native.Socket(Native.AF_UNIX, type, 0, what);
            if (connection.ConnectorName is { } own) Bind(connector, own, what);
            Native.ConnectUnix(connector, connection.ListenerName, what);
            accepted = Native.Accept(listener, what);
            Forget(connection.ListenerName, what);
            if (connection.ConnectorName is { } bound) Forget(bound, what);
            return (accepted, connector);
        }
        catch
        {
            if (accepted >= 0) Native.Close(accepted);
            if (connector >= 0) Native.Close(connector);
            throw;
        }
        finally
        {
            Native.Close(listener);
        }
    }

    /// <summary>bind() to a name; for a path, its directories are made first (in the private root).</summary>
    private static void Bind(int socket, byte[] name, string what)
    {
        if (name[0] != 0)
            for (int slash = Array.IndexOf(name, (byte)'/', 1); slash > 0; slash = Array.IndexOf(name, (byte)'/', slash + 1))
                if (!Native.TryMakeDirectory(name.AsSpan(0, slash), out int errno) && errno != ErrnoNames.EEXIST)
                    throw new SysCallException($"mkdir({Encoding.UTF8.GetString(name.AsSpan(0, slash))})", errno, $"{what}, in a private root");
        try { Native.BindUnix(socket, name, what); }
        catch (SysCallException e) when (e.Errno == ErrnoNames.EADDRINUSE && name[0] == 0)
        {
            throw new InvalidOperationException($"{what}: cannot bind a socket to {Show(name)}: the abstract name is in use (by the original, if it was left running, or by another program)");
        }
    }

    /// <summary>The socket file a path name made in the private root, removed (the socket keeps its name).</summary>
    private static void Forget(byte[] name, string what)
    {
        if (name[0] != 0) Native.UnlinkOrThrow(name, $"{what}, in a private root");
    }
}
