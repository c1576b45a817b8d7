using System.Collections.Frozen;

namespace Cryo.Format;

/// <summary>Decodes a payload into a typed item; the reader has already checked framing and checksum.</summary>
public delegate CheckpointItem ItemDecoder(ref PayloadReader reader, ReadOnlyMemory<byte> payload);

/// <summary>What the format knows of one tag: its name, where it may stand and how to decode it.</summary>
public sealed record ItemKind(ItemTag Tag, string Name, bool IsSection, ItemTag[] AllowedIn, ItemDecoder? Decode)
{
    /// <summary>Stands for "outside every section" in <see cref="AllowedIn"/>.</summary>
    public static readonly ItemTag TopLevel = default;
}

/// <summary>The registry of every item kind of format version 1: adding a kind is one line here.</summary>
public static class ItemKinds
{
    public static readonly ItemTag Process = ItemTag.Parse("PROC");
    public static readonly ItemTag Thread = ItemTag.Parse("THRD");
    public static readonly ItemTag Fifo = ItemTag.Parse("FIFO");

    private static readonly ItemTag[] Top = [ItemKind.TopLevel];
    private static readonly ItemTag[] InProcess = [Process];
    private static readonly ItemTag[] InThread = [Thread];

    public static readonly IReadOnlyList<ItemKind> All =
    [
        new(Process, "process section", true, Top, null),
        new(Thread, "thread section", true, InProcess, null),
        new(Fifo, "pipe and FIFO section", true, Top, null),
        new(ProcessInfo.TagValue, "process info", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => ProcessInfo.Decode(ref r)),
        new(Credentials.TagValue, "credentials", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => Credentials.Decode(ref r)),
        new(DeletedWorkingDirectory.TagValue, "deleted working directory", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => DeletedWorkingDirectory.Decode(ref r)),
        new(ResourceLimits.TagValue, "resource limits", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => ResourceLimits.Decode(ref r)),
        new(SignalHandlers.TagValue, "signal handlers", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => SignalHandlers.Decode(ref r)),
        new(PendingSignals.TagValue, "pending signals", false, [Process, Thread], (ref PayloadReader r, ReadOnlyMemory<byte> _) => PendingSignals.Decode(ref r)),
        new(IntervalTimer.TagValue, "interval timer", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => IntervalTimer.Decode(ref r)),
        new(PosixTimer.TagValue, "POSIX timer", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => PosixTimer.Decode(ref r)),
        new(OomScoreAdjustment.TagValue, "OOM score adjustment", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => OomScoreAdjustment.Decode(ref r)),
        new(SysVSegment.TagValue, "System V shared memory segment", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => SysVSegment.Decode(ref r)),
        new(MemfdObject.TagValue, "memfd object", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => MemfdObject.Decode(ref r)),
        new(DeletedFile.TagValue, "deleted file", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => DeletedFile.Decode(ref r)),
        new(MemfdData.TagValue, "memfd data", false, InProcess, MemfdData.Decode),
        new(MemoryLayout.TagValue, "memory layout", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => MemoryLayout.Decode(ref r)),
        new(MemoryArea.TagValue, "memory area", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => MemoryArea.Decode(ref r)),
        new(PageData.TagValue, "page data", false, InProcess, PageData.Decode),
        new(MemoryAdvice.TagValue, "memory advice", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => MemoryAdvice.Decode(ref r)),
        new(GuardRegions.TagValue, "guard regions", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => GuardRegions.Decode(ref r)),
        new(FileDescriptor.TagValue, "file descriptor", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => FileDescriptor.Decode(ref r)),
        new(FileOwner.TagValue, "file owner", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => FileOwner.Decode(ref r)),
        new(FileLock.TagValue, "file lock", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => FileLock.Decode(ref r)),
        new(EventCounter.TagValue, "eventfd", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => EventCounter.Decode(ref r)),
        new(SignalQueueFile.TagValue, "signalfd", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => SignalQueueFile.Decode(ref r)),
        new(TimerFile.TagValue, "timerfd", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => TimerFile.Decode(ref r)),
        new(EventPollFile.TagValue, "epoll", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => EventPollFile.Decode(ref r)),
        new(EventPollIdle.TagValue, "idle epoll", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => EventPollIdle.Decode(ref r)),
        new(InotifyFile.TagValue, "inotify", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => InotifyFile.Decode(ref r)),
        new(PidFd.TagValue, "pidfd", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => PidFd.Decode(ref r)),
        new(UnixSocket.TagValue, "Unix socket", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => UnixSocket.Decode(ref r)),
        new(TerminalState.TagValue, "terminal", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => TerminalState.Decode(ref r)),
        new(UnixSocketData.TagValue, "Unix socket data", false, InProcess, UnixSocketData.Decode),
        new(UnixSocketName.TagValue, "Unix socket name", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => UnixSocketName.Decode(ref r)),
        new(UnixListener.TagValue, "listening Unix socket", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => UnixListener.Decode(ref r)),
        new(InetSocket.TagValue, "listening TCP socket", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => InetSocket.Decode(ref r)),
        new(InetDatagramSocket.TagValue, "UDP socket", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => InetDatagramSocket.Decode(ref r)),
        new(SeccompFilter.TagValue, "seccomp filter", false, InProcess, (ref PayloadReader r, ReadOnlyMemory<byte> _) => SeccompFilter.Decode(ref r)),
        new(ThreadInfo.TagValue, "thread info", false, InThread, (ref PayloadReader r, ReadOnlyMemory<byte> _) => ThreadInfo.Decode(ref r)),
        new(Registers.TagValue, "registers", false, InThread, (ref PayloadReader r, ReadOnlyMemory<byte> _) => Registers.Decode(ref r)),
        new(ExtendedState.TagValue, "extended state", false, InThread, (ref PayloadReader r, ReadOnlyMemory<byte> _) => ExtendedState.Decode(ref r)),
        new(ThreadScheduling.TagValue, "thread scheduling", false, InThread, (ref PayloadReader r, ReadOnlyMemory<byte> _) => ThreadScheduling.Decode(ref r)),
        new(IoPriority.TagValue, "I/O priority", false, InThread, (ref PayloadReader r, ReadOnlyMemory<byte> _) => IoPriority.Decode(ref r)),
        new(ThreadSeccomp.TagValue, "thread seccomp mode", false, InThread, (ref PayloadReader r, ReadOnlyMemory<byte> _) => ThreadSeccomp.Decode(ref r)),
        new(PipeInfo.TagValue, "pipe info", false, [Fifo], (ref PayloadReader r, ReadOnlyMemory<byte> _) => PipeInfo.Decode(ref r)),
        new(PipeData.TagValue, "pipe data", false, [Fifo], PipeData.Decode),
        new(CheckpointStats.TagValue, "checkpoint statistics", false, Top, (ref PayloadReader r, ReadOnlyMemory<byte> _) => CheckpointStats.Decode(ref r)),
        new(Trailer.TagValue, "trailer", false, Top, null),
    ];

    private static readonly FrozenDictionary<ItemTag, ItemKind> ByTag = All.ToFrozenDictionary(k => k.Tag);

    public static ItemKind? Find(ItemTag tag) => ByTag.GetValueOrDefault(tag);
}
