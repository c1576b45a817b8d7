using Cryo.Format;

namespace Cryo.Dump;

/// <summary>
/// The --summary form: the process tree, memory per process, descriptors, pipes and Unix sockets,
/// gathered in one pass and printed at the end.
/// </summary>
public sealed class SummaryPrinter(TextWriter output)
{
    private sealed class ProcessSummary(ProcessInfo info)
    {
        public ProcessInfo Info { get; } = info;
        public int Areas, Threads;
        public ulong MappedBytes, StoredBytes;
        public List<FileDescriptor> Fds { get; } = [];
    }

    private readonly List<ProcessSummary> _processes = [];
    private readonly List<PipeInfo> _pipes = [];

    /// <summary>A Unix socket as its first USCK in the file describes it, with the UDAT items that follow it.</summary>
    private sealed class SocketSummary(UnixSocket socket)
    {
        public UnixSocket Socket { get; } = socket;
        public byte[]? Name;
        public ulong QueuedBytes;
        public int Messages;
    }

    private readonly List<SocketSummary> _sockets = [];
    private readonly Dictionary<ulong, SocketSummary> _socketsById = [];
    private CheckpointHeader? _header;
    private CheckpointStats? _stats;

    public void Header(CheckpointHeader header) => _header = header;

    public void Item(CheckpointItem item)
    {
        var current = _processes.Count > 0 ? _processes[^1] : null;
        switch (item)
        {
            case ProcessInfo p: _processes.Add(new ProcessSummary(p)); break;
            case MemoryArea a when current is not null: current.Areas++; current.MappedBytes += a.End - a.Start; break;
            case PageData d when current is not null: current.StoredBytes += (ulong)d.Data.Length; break;
            case MemfdData d when current is not null: current.StoredBytes += (ulong)d.Data.Length; break;
            case FileDescriptor f when current is not null: current.Fds.Add(f); break;
            case ThreadInfo when current is not null: current.Threads++; break;
            case PipeInfo p: _pipes.Add(p); break;
            case UnixSocket u when !_socketsById.ContainsKey(u.SocketId):
                var socket = new SocketSummary(u);
                _sockets.Add(socket);
                _socketsById[u.SocketId] = socket;
                break;
            // A socket's queued bytes count with the socket, as a pipe's unread bytes with the pipe, not as stored memory.
            case UnixSocketName n when _socketsById.TryGetValue(n.SocketId, out var named):
                named.Name = n.Name;
                break;
            case UnixSocketData d when _socketsById.TryGetValue(d.SocketId, out var queue):
                queue.QueuedBytes += (ulong)d.Data.Length;
                queue.Messages++;
                break;
            case CheckpointStats s: _stats = s; break;
        }
    }

    public void Trailer(Trailer trailer, long fileBytes)
    {
        var h = _header!;
        output.WriteLine($"checkpoint: format {h.VersionMajor}.{h.VersionMinor}, x86-64, page size {h.PageSize}, kernel {h.KernelRelease}, by {h.Creator}, {h.Created:u}");
        output.WriteLine($"  {trailer.ItemCount} items, {Size((ulong)fileBytes)}");
        if (_stats is not null)
            output.WriteLine($"  frozen for {_stats.FrozenNanoseconds / 1e6:F1} ms, {_stats.PagesWritten} pages written");
        output.WriteLine($"processes: {_processes.Count}");
        var byPid = _processes.ToDictionary(p => p.Info.Pid);
        foreach (var root in _processes.Where(p => !byPid.ContainsKey(p.Info.ParentPid)))
            PrintTree(root, byPid, 1);
        output.WriteLine($"pipes: {_pipes.Count}");
        foreach (var p in _pipes)
            output.WriteLine($"  pipe {p.PipeId}: {(p.Kind == PipeKind.Named ? "named FIFO" : "anonymous")}{(p.Packetized ? ", packets" : "")}, {p.ByteCount} of {p.Capacity} bytes");
        if (_sockets.Count == 0) return;
        output.WriteLine($"sockets: {_sockets.Count}");
        foreach (var s in _sockets)
            output.WriteLine($"  socket {s.Socket.SocketId}: {SocketLine(s)}");
    }

    private static string SocketLine(SocketSummary s)
    {
        var u = s.Socket;
        string type = u.Type switch
        {
            UnixSocketType.Stream => "stream",
            UnixSocketType.Datagram => "datagram",
            UnixSocketType.SeqPacket => "seqpacket",
            _ => $"type {(byte)u.Type}",
        };
        string shut = u.Shutdown switch
        {
            UnixSocket.ReceiveShut => ", shut down for receiving",
            UnixSocket.SendShut => ", shut down for sending",
            UnixSocket.ReceiveShut | UnixSocket.SendShut => ", shut down",
            _ => "",
        };
        string messages = u.Type == UnixSocketType.Stream ? "" : $" in {s.Messages} message(s)";
        string name = s.Name is not { } bound ? "" : $", named {UnixSocketName.Display(bound)}";
        return $"{type} pair{name}, {(u.PeerId == 0 ? "peer closed" : $"peer {u.PeerId}")}{shut}, {s.QueuedBytes} bytes queued{messages}";
    }

    private void PrintTree(ProcessSummary p, Dictionary<int, ProcessSummary> byPid, int depth)
    {
        string indent = new(' ', 2 * depth);
        var i = p.Info;
        string comm = ItemFieldFormatter.EscapeBytes(i.Comm);
        output.WriteLine(i.State == ProcessState.Zombie
            ? $"{indent}{i.Pid} {comm} (zombie, exit status {i.ExitStatus})"
            : $"{indent}{i.Pid} {comm}: ppid {i.ParentPid}, pgid {i.ProcessGroupId}, sid {i.SessionId}, {p.Threads} thread(s), " +
              $"{p.Areas} areas, {Size(p.MappedBytes)} mapped, {Size(p.StoredBytes)} stored" +
              (i.State == ProcessState.Stopped ? $", stopped by job control (signal {(i.ExitStatus >> 8) & 0xff})" : ""));
        foreach (var f in p.Fds)
            output.WriteLine($"{indent}  fd {f.Fd}: {f.Kind}{(f.PipeId != 0 ? $" (pipe {f.PipeId})" : "")} {ItemFieldFormatter.EscapeBytes(f.Path)}");
        foreach (var child in byPid.Values.Where(c => c.Info.ParentPid == i.Pid && c != p))
            PrintTree(child, byPid, depth + 1);
    }

    private static string Size(ulong bytes) => bytes switch
    {
        >= 1UL << 30 => $"{bytes / (double)(1UL << 30):F2} GiB",
        >= 1UL << 20 => $"{bytes / (double)(1UL << 20):F2} MiB",
        >= 1UL << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} bytes",
    };
}
