using System.Buffers.Binary;
using System.Text;
using Cryo.Format;

namespace Cryo.Tests.Format;

/// <summary>
/// A checkpoint built for the Kaitai cross-check: every item kind of <see cref="ItemKinds.All"/>,
/// with the values where a second implementation of the format most easily goes wrong: 64-bit
/// numbers above 2^53 and at the top of their range, negative signed fields, byte strings with
/// quotes, backslashes, control bytes and non-ASCII bytes, empty strings and lists, page data
/// split over several PAGE items, deleted working directories with the shortest path and every mode bit, an empty FBUF and an empty UDAT, control characters of every byte value, the longest seccomp
/// program, an inotify instance of a thousand watches up to the highest watch descriptor, pidfds of the smallest and largest pids, named connected Unix sockets and listening
/// Unix sockets with the shortest and longest paths and abstract names, listening sockets at the ends of the
/// port range with addresses of every shape cryo-dump prints as text, UDP sockets bound and not, connected and not, at both ends
/// of their ranges, the optional STAT and EPQT items, unknown optional items
/// and an unknown optional section (which readers skip, with everything in it).
/// </summary>
public static class KaitaiEdgeSample
{
    /// <summary>Values above 2^53 (not representable as a double), and with the top bit set.</summary>
    public const ulong Above53 = (1UL << 53) + 1, TopBit = 0x8000_0000_0000_0001, Max = ulong.MaxValue;

    public static readonly ItemTag UnknownItem = ItemTag.Parse("XTRA"), UnknownSection = ItemTag.Parse("ZSEC"), UnknownInSection = ItemTag.Parse("ZITM");

    /// <summary>Builds the sample; <paramref name="pid"/> lets a test build a twin that differs in one field.</summary>
    public static byte[] Build(int pid = 4242)
    {
        var header = new CheckpointHeader(FormatLimits.VersionMajor, FormatLimits.VersionMinor, 0, FormatLimits.ArchX86_64, 4096,
            -1_234_567_890_123_456_789, "6.18.0-k\u00e4itai \"edge\" \\ sample", "cryo kaitai cross-check");
        using var stream = new MemoryStream();
        using (var w = new CheckpointWriter(stream, header, leaveOpen: true))
        {
            w.WriteOpaqueItem(UnknownItem, critical: false, [1, 2, 3, 0xff]);
            w.BeginSection(ItemKinds.Process);
            w.Write(new ProcessInfo(pid, 1, pid, 1, ProcessState.Zombie, -9, 0x0040_0000, 0x12 /* 022 */, 2, 1, 1, 15, 2,
                B("k\u00e4i\"t\\a\ti"), Bytes(0x2f, 0x00, 0x01, 0x7e, 0x7f, 0x80, 0xff, 0x20, 0x5c, 0x22), B("/srv/job dir"), Enumerable.Range(0, 256).Select(i => (byte)i).ToArray())); // root: every byte value, for the escaping
            w.Write(new Credentials(1000, 1001, 1002, 1003, 100, 101, 102, 103,
                0, Above53, TopBit, Max, 0x1ff_ffff_ffff, 0x2f, [100, 27, uint.MaxValue]));
            w.Write(new ResourceLimits([new(3, 8 << 20, ResourceLimits.Infinity), new(7, 1024, 524288), new(99, Above53, TopBit)]));
            w.Write(new SignalHandlers([new SignalAction(1, 0, 0, 0, 0), new SignalAction(13, 1, 0, 0, 0),
                new SignalAction(64, 0x7fff_ffff_f000, 0x0400_0004, Above53, Max)]));
            w.Write(new PendingSignals(SignalQueue.Process,
                [new QueuedSignal(10, 0, -6, Pattern(QueuedSignal.DataSize, 3)), new QueuedSignal(34, -1, int.MinValue, Pattern(QueuedSignal.DataSize, 9))]));
            w.Write(new IntervalTimer(IntervalTimerKind.Real, 0, 50_000, 0, 999_999));
            w.Write(new IntervalTimer(IntervalTimerKind.Virtual, Above53, 1, TopBit, 0));
            w.Write(new IntervalTimer(IntervalTimerKind.Profiling, Max, 999_999, Max, 1));
            w.Write(new PosixTimer(0, 0, PosixTimerNotify.None, 0, 0, 0, 0, 0)); // SIGEV_NONE, disarmed, no signal recorded
            w.Write(new PosixTimer(1, 1, PosixTimerNotify.Process, 14, 1, 0, 1, 0)); // timer_create without a sigevent: SIGALRM, its id as value
            w.Write(new PosixTimer(2, 7, PosixTimerNotify.Thread, 32, 0x7fff_ffff_f000, 4250, Above53, 1)); // glibc's SIGEV_THREAD: a pointer, its helper thread
            w.Write(new PosixTimer(3, 8, PosixTimerNotify.Process, PosixTimer.MaxSignal, Max, 0, Max, Max));
            w.Write(new PosixTimer(4, 9, PosixTimerNotify.None, PosixTimer.MaxSignal, TopBit, 0, TopBit, Above53));
            w.Write(new PosixTimer(5, 11, PosixTimerNotify.Thread, 1, Above53, int.MaxValue, 1_000_000_000, 0));
            w.Write(new PosixTimer(6, -8, PosixTimerNotify.Process, 27, 0, 0, 999_999_999, TopBit)); // the CPU-time clocks, as Linux encodes them
            w.Write(new PosixTimer(7, -7, PosixTimerNotify.Process, 26, uint.MaxValue, 0, 1, 1));
            w.Write(new PosixTimer(int.MaxValue, -6, PosixTimerNotify.Thread, 34, Max, 1, 0, 0));
            w.Write(new OomScoreAdjustment(OomScoreAdjustment.Min));
            w.Write(new OomScoreAdjustment(OomScoreAdjustment.Max));
            // SHMS: IPC_PRIVATE and destroyed; a key with the top bit set (negative as key_t); the largest values; the epoch and before it.
            w.Write(new SysVSegment(0, 0, 1, SysVSegment.Destroyed | 0x180 /* 0600 */, 0, 0, 0, 0, 1, 0));
            w.Write(new SysVSegment(1, unchecked((int)0xdead_beef), 4096, 0x1b6 /* 0666 */ | SysVSegment.Locked, 1000, 100, 1000, 100, 4242, 1_767_225_600));
            w.Write(new SysVSegment(32769, int.MinValue, Above53, SysVSegment.PermissionBits, uint.MaxValue, uint.MaxValue, 0, 0, int.MaxValue, -1));
            w.Write(new SysVSegment(int.MaxValue, 0, Max, SysVSegment.PermissionBits | SysVSegment.Destroyed | SysVSegment.Locked, 1, 2, 3, 4, 5, long.MinValue));
            w.Write(new SysVSegment(65536, -1, TopBit, 0, 0, uint.MaxValue, uint.MaxValue, 0, 2, long.MaxValue));
            // MEMF and MDAT: an empty object with an empty name; the largest values (size 2^63 - 1, every seal, every mode bit of a
            // regular file, a name of 249 bytes with every byte but NUL and '/'), its data in three items, the last one ending at
            // 2^63 - 1 (the largest end the reader takes); a small sealed object with quotes, a backslash and UTF-8 in its name, data after a hole.
            w.Write(new MemfdObject(1, 0, 0, 0, 0x8000, 0, 0, []));
            w.Write(new MemfdObject(Above53, Max, long.MaxValue, MemfdObject.KnownSeals, 0x8fff, uint.MaxValue, uint.MaxValue, MemfdName()));
            w.Write(new MemfdData(Above53, 0, Pattern(256 * 4096, 11)));
            w.Write(new MemfdData(Above53, 300 * 4096, Pattern(4096, 12)));
            w.Write(new MemfdData(Above53, long.MaxValue - 4096, Pattern(4096, 13)));
            w.Write(new MemfdObject(Max, TopBit, 3 * 4096 - 1, MemfdObject.SealSeal | MemfdObject.SealWrite, 0x8124 /* 0100444 */, 1000, 100, B("ring \"a\\b\" \u00e9")));
            w.Write(new MemfdData(Max, 8192, Pattern(4096, 14)));
            // DELF and its MDAT: the shortest path ("/a") and size 0; the largest values (size 2^63 - 1, every mode bit of a regular
            // file, a path of 4096 bytes with every byte but NUL), its data ending at 2^63 - 1; a small file with quotes, a
            // backslash and UTF-8 in its path, one page of data reaching past its size.
            w.Write(new DeletedFile(1, 0, 0, 0x8000, 0, 0, B("/a")));
            w.Write(new DeletedFile(TopBit, Max, long.MaxValue, 0x8fff, uint.MaxValue, uint.MaxValue, DeletedPath()));
            w.Write(new MemfdData(TopBit, long.MaxValue - 4096, Pattern(4096, 17)));
            w.Write(new DeletedFile(Above53, Above53, 32, 0x81b6 /* 0100666 */, 1000, 100, B("/dev/shm/sem \"a\\b\" \u00e9")));
            w.Write(new MemfdData(Above53, 0, Pattern(4096, 18)));
            w.Write(new MemoryLayout(0x400000, 0x401000, 0x403000, 0x404000, 0x1000000, 0x1021000, 0x7ffd_0000_0000,
                0x7ffd_0000_1000, 0x7ffd_0000_1020, 0x7ffd_0000_1020, Max, [new AuxEntry(6, 4096), new AuxEntry(25, Above53), new AuxEntry(Max, TopBit)]));
            w.Write(new MemoryLayout(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, []));
            w.WriteOpaqueItem(UnknownItem, critical: false, []);
            w.Write(new MemoryArea(0x1000000, 0x1200000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapPrivate | MemoryArea.MapAnonymous,
                MemoryAreaKind.Heap, 0, 0, B("[heap]"), [new PageRun(0, 257), new PageRun(300, 1)]));
            // 257 pages: more than the writer's 1 MiB chunk, so two PAGE items.
            w.WritePages(0x1000000, Pattern(257 * 4096, 1));
            w.WritePages(0x1000000 + 300 * 4096, Pattern(4096, 2));
            // An attachment of SHMS id 1 (key 0xdeadbeef, 4096 bytes) as maps shows it, its page stored.
            w.Write(new MemoryArea(0x7f12_3456_7000, 0x7f12_3456_8000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapShared,
                MemoryAreaKind.SysVShared, 1, 1, B("/SYSVdeadbeef (deleted)"), [new PageRun(0, 1)]));
            w.WritePages(0x7f12_3456_7000, Pattern(4096, 4));
            // A shared mapping of the sealed memfd above (no runs: its pages are the object's), and a private one with a copied page.
            w.Write(new MemoryArea(0x7f12_3458_0000, 0x7f12_3458_3000, 0, MemoryArea.ProtRead, MemoryArea.MapShared,
                MemoryAreaKind.Memfd, TopBit, Max, B("/memfd:ring \"a\\b\" \u00e9 (deleted)"), []));
            w.Write(new MemoryArea(0x7f12_3459_0000, 0x7f12_3459_2000, 4096, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapPrivate,
                MemoryAreaKind.Memfd, TopBit, Max, B("/memfd:ring \"a\\b\" \u00e9 (deleted)"), [new PageRun(1, 1)]));
            w.WritePages(0x7f12_3459_1000, Pattern(4096, 15));
            // A shared mapping of the small deleted file above (no runs: its pages are the file's), and a private one with a copied page.
            w.Write(new MemoryArea(0x7f12_345a_0000, 0x7f12_345a_1000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapShared,
                MemoryAreaKind.FileShared, Above53, Above53, B("/dev/shm/sem \"a\\b\" \u00e9 (deleted)"), []));
            w.Write(new MemoryArea(0x7f12_345b_0000, 0x7f12_345b_2000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapPrivate,
                MemoryAreaKind.FilePrivate, Above53, Above53, B("/dev/shm/sem \"a\\b\" \u00e9 (deleted)"), [new PageRun(0, 1)]));
            w.WritePages(0x7f12_345b_0000, Pattern(4096, 19));
            for (byte kind = 0; kind <= (byte)MemoryAreaKind.Memfd; kind++)
                w.Write(new MemoryArea(0xffff_ffff_ff60_0000 - (ulong)kind * 0x1000, 0xffff_ffff_ff60_1000 - (ulong)kind * 0x1000, Above53 + kind,
                    MemoryArea.ProtExec, MemoryArea.MapShared | MemoryArea.MapGrowsDown, (MemoryAreaKind)kind, Max, TopBit, Bytes(0xc3, 0xa9, kind), []));
            w.Write(new MemoryAdvice(ProcessMemoryFlags.ThpDisabled,
                [new AdvisedArea(0x1000000, 0x1200000, AreaAdvice.Locked | AreaAdvice.LockOnFault | AreaAdvice.DontDump | AreaAdvice.WipeOnFork),
                 new AdvisedArea(0x7fff_ffff_e000, Above53, AreaAdvice.DontFork | AreaAdvice.HugePage | AreaAdvice.Mergeable | AreaAdvice.Random),
                 new AdvisedArea(TopBit, Max, AreaAdvice.NoHugePage | AreaAdvice.Sequential)]));
            w.Write(new MemoryAdvice(ProcessMemoryFlags.None, []));
            w.Write(new MemoryAdvice(MemoryAdvice.KnownProcessFlags, [])); // every process flag: THP off, MDWE not inherited, lock future on fault, merge all, the membarrier registrations
            w.Write(new MemoryAdvice(ProcessMemoryFlags.RefuseExecGain | ProcessMemoryFlags.LockFuture, [new AdvisedArea(0, 1, AreaAdvice.Mergeable)]));
            w.Write(new MemoryAdvice(ProcessMemoryFlags.MergeAll, []));
            // GARD: one guard page in the heap; several ranges, two of them touching; the largest addresses (the top page, an end of 2^64 - 1).
            w.Write(new GuardRegions([new GuardRange(0x1000000 + 258 * 4096, 0x1000000 + 259 * 4096)]));
            w.Write(new GuardRegions([new GuardRange(0, 0x1000), new GuardRange(0x7fff_ffff_e000, 0x7fff_ffff_f000),
                new GuardRange(0x7fff_ffff_f000, Above53), new GuardRange(TopBit, TopBit + 1)]));
            w.Write(new GuardRegions([new GuardRange(Max - 0x1fff, Max - 0xfff), new GuardRange(Max - 1, Max)]));
            for (byte kind = 0; kind <= (byte)FileKind.Terminal; kind++)
                w.Write(new FileDescriptor(kind, (FileKind)kind, FileDescriptor.CloseOnExec, 0x8042u + kind, kind == 0 ? long.MinValue : long.MaxValue - kind, 0x81a4 /* 0100644 */,
                    Max, Above53, TopBit, 7 + (ulong)kind, kind == (byte)FileKind.Pipe ? 77UL : 0UL, kind == 1 ? [] : B($"/tmp/\"fd\" {kind}\\\u00e9")));
            w.Write(new FileDescriptor(int.MaxValue, FileKind.Pipe, 0, 1, 0, 0x1180 /* 010600 */, 12, 34, 0, 8, 77, B("pipe:[34]")));
            w.Write(new FileDescriptor(10, FileKind.Memfd, FileDescriptor.CloseOnExec, 0x8002 /* O_RDWR | O_LARGEFILE */, 4096, 0x8124, TopBit, Max, 0, 9, 0,
                B("/memfd:ring \"a\\b\" \u00e9 (deleted)")));
            w.Write(new FileDescriptor(11, FileKind.Regular, 0, 0x8402 /* O_RDWR | O_APPEND | O_LARGEFILE */, 32, 0x81b6, Above53, Above53, 0, 10, 0,
                B("/dev/shm/sem \"a\\b\" \u00e9 (deleted)")));
            w.Write(new FileOwner(int.MaxValue, FileOwnerKind.ProcessGroup, int.MaxValue, FileOwner.MaxSignal));
            w.Write(new FileOwner(0, FileOwnerKind.Thread, 0, 1));
            w.Write(new FileOwner(5, FileOwnerKind.Process, 1, 0));
            w.Write(new FileLock(5, FileLockKind.Flock, true, 0, 0));
            w.Write(new FileLock(5, FileLockKind.Posix, false, long.MaxValue - 1, 1));
            w.Write(new FileLock(int.MaxValue, FileLockKind.OpenFileDescription, true, Above53, 0));
            w.Write(new EventCounter(int.MaxValue, EventCounter.MaxCount, EventCounter.Semaphore));
            w.Write(new EventCounter(0, 0, 0));
            w.Write(new EventCounter(6, Above53, 0));
            w.Write(new SignalQueueFile(int.MaxValue, ~SignalQueueFile.Unaccepted)); // every signal but SIGKILL and SIGSTOP: top bit set
            w.Write(new SignalQueueFile(0, 0));
            w.Write(new SignalQueueFile(6, Above53));
            w.Write(new TimerFile(int.MaxValue, 9, TimerFile.Absolute | TimerFile.CancelOnSet, Max, Max, Max));
            w.Write(new TimerFile(0, 0, 0, 0, 0, 0));
            w.Write(new TimerFile(6, 1, TimerFile.Absolute, Above53, TopBit, Above53));
            w.Write(new TimerFile(6, 7, 0, 1, 1, 0));
            w.Write(new TimerFile(6, 8, TimerFile.Absolute | TimerFile.CancelOnSet, 0, long.MaxValue, 1));
            w.Write(new EventPollFile(int.MaxValue,
            [
                new EpollWatch(0, EventPollFile.KnownEvents & ~EventPollFile.Exclusive, Max), // 0xe00027ff: every event bit but EPOLLEXCLUSIVE, top bit set
                new EpollWatch(1, EventPollFile.ExclusiveCompatible, Above53), // 0xb000001d: EPOLLEXCLUSIVE with all it may go with
                new EpollWatch(2, EventPollFile.FlagBits & ~EventPollFile.Exclusive, TopBit), // 0xe0000000: a fired one-shot watch (flag bits only)
                new EpollWatch(0x7f00_0000, 0x8000_0018, 2), // EPOLLET and what Linux adds, nothing else
                new EpollWatch(int.MaxValue - 1, EventPollFile.ErrorAndHangUp, 0),
            ]));
            // Optional (flags 0): the instance above was idle and the files of its edge-triggered, non-one-shot watches (1 and
            // 0x7f000000) were ready. (Watches 0 and 2 are edge-triggered too, but one-shot: never listed.)
            w.Write(new EventPollIdle(int.MaxValue, [1, 0x7f00_0000]));
            w.Write(new EventPollFile(0, [])); // an epoll instance watching nothing
            w.Write(new EventPollFile(6,
            [
                new EpollWatch(0, 0x8000_2019, 0x7fff_ffff_f000),
                new EpollWatch(5, 0x8000_0019, 5),
                new EpollWatch(7, 0x8000_0019, 7),
                new EpollWatch(0x0100_0000, 0x8000_0019, 8),
                new EpollWatch(int.MaxValue, EventPollFile.OneShot, 1),
            ]));
            w.Write(new EventPollIdle(6, [0, 5, 7, 0x0100_0000])); // from 0 up, on both sides of the epoll's own fd, one above 2^24
            // EPQT after its EPOL (itself after its FDES: kind 7, anon_inode:[eventpoll]) at fd 0, an EPOLLET | EPOLLIN watch of
            // fd 1, whose file was ready, and one of fd 2^31 - 1 (the largest target), whose file was ready too.
            w.Write(new FileDescriptor(0, FileKind.AnonInode, 0, 0x2, 0, 0x180, 0xe, 1032, 0, 14, 0, B("anon_inode:[eventpoll]")));
            w.Write(new EventPollFile(0, [new EpollWatch(1, 0x8000_0019, 0), new EpollWatch(0x80, 0x19, 0x80), new EpollWatch(int.MaxValue, 0x8000_0019, 1)]));
            w.Write(new EventPollIdle(0, [1, int.MaxValue]));
            // INOT after its FDES (kind 7, anon_inode:inotify: no brackets): 1000 watches, wd 1 … 999 and then the highest
            // (2^31 - 1), masks cycling through every bit the reader takes, devices and inodes above 2^53 and at the top of their
            // range, paths with quotes, backslashes and UTF-8, the shortest ("/") and the longest (4096 bytes). An instance
            // watching nothing.
            w.Write(new FileDescriptor(14, FileKind.AnonInode, FileDescriptor.CloseOnExec, 0x800, 0, 0x180, 0xe, 1031, 0, 13, 0, B("anon_inode:inotify")));
            w.Write(new InotifyFile(14, InotifyWatches()));
            w.Write(new InotifyFile(0, []));
            // PIDF after its FDES (kind 7, anon_inode:[pidfd], O_RDWR | O_NONBLOCK: PIDFD_NONBLOCK, mode 0700 as pidfs shows it): a
            // pidfd of the stopped process of the second PROC (a process later in the file); the smallest fd and pid; PID_MAX_LIMIT
            // (2^22); the largest fd and pid (the reader takes any positive pid).
            w.Write(new FileDescriptor(50, FileKind.AnonInode, FileDescriptor.CloseOnExec, 0x802, 0, 0x1c0, 0xf, 1258443, 0, 50, 0, B("anon_inode:[pidfd]")));
            w.Write(new PidFd(50, 7777));
            w.Write(new PidFd(0, 1));
            w.Write(new PidFd(51, 1 << 22));
            w.Write(new PidFd(int.MaxValue, int.MaxValue));
            // USCK and UDAT: a stream pair with the largest values (socket id 2^64 - 1, every shut-down bit, SO_PASSCRED, the largest
            // peek offset and buffers), its queue a 1 MiB chunk and a short one with a quote; its peer with nothing queued and the
            // peek offset off (-1). A datagram pair whose ids, 2^63 + 1 and 2^63, are one number as doubles (a reader that
            // compared peer_id with socket_id as doubles would call the socket its own peer), with an empty datagram and one of
            // every byte value. A seqpacket socket whose peer was closed (peer_id 0), and a later USCK of the stream socket
            // (another descriptor of it, as in a second process): no USNM and no UDAT after it.
            // USNM, after the first USCK of its socket and before its UDAT: the stream pair is a named connection, the socket
            // 2^64 - 1 bound to the longest path (108 bytes: '/', then the byte values 1 … 107, control bytes, a quote and a
            // backslash among them), its peer to the longest abstract name (108 bytes, NULs inside and last, a quote, a backslash,
            // bytes above 0x7f); the seqpacket socket whose peer was closed to the shortest path ("/"). A seqpacket pair of
            // its own: one end bound to the shortest abstract name (a NUL alone), the other, a client, to a relative path with
            // quotes, a backslash and UTF-8.
            w.Write(new UnixSocket(int.MaxValue, Max, Above53, UnixSocketType.Stream, UnixSocket.ReceiveShut | UnixSocket.SendShut,
                uint.MaxValue, uint.MaxValue, UnixSocket.PassCredentials, int.MaxValue, (1 << 20) + 6));
            w.Write(new UnixSocketName(Max, [(byte)'/', .. Enumerable.Range(1, 107).Select(i => (byte)i)]));
            w.Write(new UnixSocketData(Max, Pattern(1 << 20, 16)));
            w.Write(new UnixSocketData(Max, B("tail\"\\")));
            w.Write(new UnixSocket(0, Above53, Max, UnixSocketType.Stream, 0, 4608, 2304, 0, -1, 0));
            w.Write(new UnixSocketName(Above53, [0, .. B("\"\\"), 0, .. Enumerable.Range(0x80, 103).Select(i => (byte)i), 0]));
            w.Write(new UnixSocket(7, TopBit, TopBit - 1, UnixSocketType.Datagram, UnixSocket.SendShut, 212_992, 212_992, 0, 0, 256));
            w.Write(new UnixSocketData(TopBit, Array.Empty<byte>()));
            w.Write(new UnixSocketData(TopBit, Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()));
            w.Write(new UnixSocket(8, TopBit - 1, TopBit, UnixSocketType.Datagram, UnixSocket.ReceiveShut, 0, 0, 0, 1, 0));
            w.Write(new UnixSocket(9, 1, 0, UnixSocketType.SeqPacket, UnixSocket.ReceiveShut | UnixSocket.SendShut, 1, 2, 0, -1, 3));
            w.Write(new UnixSocketName(1, B("/")));
            w.Write(new UnixSocketData(1, B("eof")));
            w.Write(new UnixSocket(10, Max, Above53, UnixSocketType.Stream, UnixSocket.ReceiveShut | UnixSocket.SendShut,
                uint.MaxValue, uint.MaxValue, UnixSocket.PassCredentials, int.MaxValue, (1 << 20) + 6));
            w.Write(new UnixSocket(18, 2, 3, UnixSocketType.SeqPacket, 0, 212_992, 212_992, 0, -1, 0));
            w.Write(new UnixSocketName(2, [0]));
            w.Write(new UnixSocket(19, 3, 2, UnixSocketType.SeqPacket, 0, 212_992, 212_992, UnixSocket.PassCredentials, 0, 0));
            w.Write(new UnixSocketName(3, B("run/\"c\" \\\u00e9.sock")));
            // ULSN after its FDES (kind 6, socket:[INODE]): a stream listener on a path with quotes, a backslash and UTF-8, backlog 0,
            // its socket file's device at the top of its range and inode above 2^53; the longest path (108 bytes: '/', then the
            // byte values 1 … 107, control bytes among them) on a seqpacket listener with the largest backlog, SO_PASSCRED, every mode bit and the largest
            // owner; the shortest path ("/"); the empty abstract name (a NUL alone); the longest abstract name (108 bytes, NULs,
            // a quote and a backslash among them); an abstract name whose last byte is a NUL (part of the name).
            w.Write(new FileDescriptor(17, FileKind.Socket, FileDescriptor.CloseOnExec, 0x802, 0, 0xc1ff, 0x8, 93001, 0, 16, 0, B("socket:[93001]")));
            w.Write(new UnixListener(17, UnixSocketType.Stream, B("/run/\"ctl\" \\\u00e9.sock"), 0, 0, Max, Above53, 0xc1ed, 0, 0));
            w.Write(new UnixListener(int.MaxValue, UnixSocketType.SeqPacket, [(byte)'/', .. Enumerable.Range(1, 107).Select(i => (byte)i)], uint.MaxValue,
                UnixSocket.PassCredentials, TopBit, Max, 0xcfff, uint.MaxValue, uint.MaxValue));
            w.Write(new UnixListener(0, UnixSocketType.Stream, B("/"), 1, 0, 0, 1, 0xc000, 1000, 100));
            w.Write(new UnixListener(1, UnixSocketType.Stream, [0], 5, 0, 0, 0, 0, 0, 0));
            w.Write(new UnixListener(2, UnixSocketType.SeqPacket, [0, .. B("\"\\"), 0, .. Enumerable.Range(0x7d, 104).Select(i => (byte)i)], 4096,
                UnixSocket.PassCredentials, 0, 0, 0, 0, 0));
            w.Write(new UnixListener(3, UnixSocketType.Stream, [0, .. B("cryo"), 0], 128, 0, 0, 0, 0, 0, 0));
            // ISCK after its FDES (kind 6, socket:[INODE]): IPv4 on the wildcard, port 0 (the reader takes it; a writer never sees
            // it), nothing set, backlog 0 (unknown); IPv4 at the top of everything, port 65535, backlog 2^32 - 1, every option
            // an IPv4 socket can have (no IPV6_V6ONLY). IPv6: a link-local address with the largest scope id and every option
            // bit; then addresses whose text is easy to get wrong: the wildcard, ::1, IPv4-mapped (dotted tail), ::0.1.0.0
            // and ::ffff:0:a.b.c.d (dotted, as .NET prints them), ISATAP (dotted), two equal runs of zeros (the first one
            // becomes "::"), a longer second run, a single zero group (never "::"), every bit set.
            w.Write(new FileDescriptor(15, FileKind.Socket, FileDescriptor.CloseOnExec, 0x802, 0, 0xc1ff, 0x8, 91001, 0, 14, 0, B("socket:[91001]")));
            w.Write(new InetSocket(15, InetSocket.Inet, 0, Ip("0.0.0.0"), 0, 0, 0, 0, 0));
            w.Write(new InetSocket(int.MaxValue, InetSocket.Inet, ushort.MaxValue, Ip("255.255.255.255"), 0, uint.MaxValue,
                InetSocket.ReuseAddress | InetSocket.ReusePort | InetSocket.KeepAlive | InetSocket.NoDelay, uint.MaxValue, uint.MaxValue));
            w.Write(new InetSocket(0, InetSocket.Inet6, 8080, Ip("fe80::1"), uint.MaxValue, 128, 0x1f, 1, 256));
            string[] shapes = ["::", "::1", "::ffff:192.0.2.1", "::0.1.0.0", "::ffff:0:192.0.2.1", "fe80::5efe:192.0.2.1", "2001:db8::1:0:0:1",
                "1:0:0:2::3", "1:0:2:3:4:5:6:7", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"];
            for (int i = 0; i < shapes.Length; i++)
                w.Write(new InetSocket(16 + i, InetSocket.Inet6, (ushort)(1 << i % 16), Ip(shapes[i]), (uint)i, (uint)i << 28,
                    i % 2 == 0 ? InetSocket.V6Only : 0, (uint)i, 0));
            // UDPS after its FDES (kind 6, socket:[INODE]): an IPv4 socket neither bound nor connected (it has not sent yet: all
            // zero) with the buffers Linux gives by default; a statsd client connected to 127.0.0.1:8125 from the port its
            // connect picked, tos 0xb8 (DSCP EF); IPv4 at the top of everything: ports 65535, the broadcast address at both ends,
            // every option an IPv4 socket can have (no IPV6_V6ONLY), the largest buffers, tos 0xff. IPv6: a server on a
            // link-local address with the largest scope id and IPV6_V6ONLY, not connected; a dual-stack socket connected to an
            // IPv4-mapped peer (a dotted tail); every byte, scope and buffer at its largest and every option bit. What the reader
            // takes and writers do not write: a local address with port 0, a peer address with port 0. Then the address shapes
            // whose text is easy to get wrong, at both ends (the peer's in the reverse order).
            w.Write(new FileDescriptor(30, FileKind.Socket, 0, 0x2, 0, 0xc1ff, 0x8, 95001, 0, 30, 0, B("socket:[95001]")));
            w.Write(new InetDatagramSocket(30, InetSocket.Inet, 0, Ip("0.0.0.0"), 0, 0, Ip("0.0.0.0"), 0, 0, 212_992, 212_992, 0));
            w.Write(new InetDatagramSocket(31, InetSocket.Inet, 40123, Ip("127.0.0.1"), 0, 8125, Ip("127.0.0.1"), 0, 0, 212_992, 212_992, 0xb8));
            w.Write(new InetDatagramSocket(int.MaxValue, InetSocket.Inet, ushort.MaxValue, Ip("255.255.255.255"), 0, ushort.MaxValue, Ip("255.255.255.255"), 0,
                InetDatagramSocket.ReuseAddress | InetDatagramSocket.ReusePort | InetDatagramSocket.Broadcast, uint.MaxValue, uint.MaxValue, 0xff));
            w.Write(new InetDatagramSocket(0, InetSocket.Inet6, 5353, Ip("fe80::1"), uint.MaxValue, 0, Ip("::"), 0,
                InetDatagramSocket.V6Only | InetDatagramSocket.ReuseAddress, 4608, 2304, 0));
            w.Write(new InetDatagramSocket(32, InetSocket.Inet6, 1, Ip("::ffff:127.0.0.1"), 0, 53, Ip("::ffff:192.0.2.1"), 0, 0, 212_992, 212_992, 0x2e));
            w.Write(new InetDatagramSocket(int.MaxValue, InetSocket.Inet6, ushort.MaxValue, Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), uint.MaxValue,
                ushort.MaxValue, Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), uint.MaxValue, 0xf, uint.MaxValue, uint.MaxValue, 0xff));
            w.Write(new InetDatagramSocket(33, InetSocket.Inet, 0, Ip("10.1.2.3"), 0, 0, Ip("192.0.2.7"), 0, 0, 0, 0, 0));
            w.Write(new InetDatagramSocket(34, InetSocket.Inet6, 9, Ip("2001:db8::9"), 3, 0, Ip("fe80::2"), 4, 0, 1, 1, 1));
            for (int i = 0; i < shapes.Length; i++)
                w.Write(new InetDatagramSocket(40 + i, InetSocket.Inet6, (ushort)(1 << i % 16), Ip(shapes[i]), (uint)i, (ushort)(0x8000 >> i),
                    Ip(shapes[^(i + 1)]), (uint)i << 28, (uint)i & 0xf, (uint)i << 12, (uint)i << 24, (uint)i * 25));
            // TTYS: a pseudo-terminal slave (136:3) controlled, in the foreground, with the settings `stty sane` gives; /dev/tty
            // (5:0) neither controlling nor in the foreground, all zero; the largest values, every bit of every mode, control
            // characters 0xff down to 0xed, the top speeds, the largest window.
            w.Write(new FileDescriptor(12, FileKind.Terminal, 0, 0x8002, 0, 0x2190, 0x18, 6, 0x8803, 11, 0, B("/dev/pts/3")));
            w.Write(new TerminalState(12, TerminalState.Controlling | TerminalState.Foreground, 0x4500, 0x5, 0xbf, 0x8a3b, 0,
                [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0], 38400, 38400, 50, 132, 0, 0));
            w.Write(new FileDescriptor(13, FileKind.Terminal, FileDescriptor.CloseOnExec, 0x8802, 0, 0x21b6, 0x5, 12, 0x500, 12, 0, B("/dev/tty")));
            w.Write(new TerminalState(13, 0, 0, 0, 0, 0, 0, new byte[TerminalState.ControlCharCount], 0, 0, 0, 0, 0, 0));
            w.Write(new TerminalState(int.MaxValue, TerminalState.Controlling, uint.MaxValue, 0x8000_0000, uint.MaxValue, 0x8000_0001, byte.MaxValue,
                [.. Enumerable.Range(0, TerminalState.ControlCharCount).Select(i => (byte)(0xff - i))], uint.MaxValue, 0x8000_0000,
                ushort.MaxValue, 0x8000, ushort.MaxValue, 1));
            // SCMF: a chain of three as a writer numbers it (1, 2, 3, each on the one before): the shortest program (return
            // SECCOMP_RET_ALLOW) with no flags; a sandbox's filter with SECCOMP_FILTER_FLAG_LOG; the longest program (4096
            // instructions) with every opcode, jump and operand from 0 to their largest. The first thread is under all three,
            // the second in strict mode.
            w.Write(new SeccompFilter(1, 0, 0, [new BpfInstruction(0x06, 0, 0, 0x7fff_0000)]));
            w.Write(new SeccompFilter(2, 1, SeccompFilter.Log,
            [
                new(0x20, 0, 0, 4), new(0x15, 1, 0, 0xc000_003e), new(0x06, 0, 0, 0x8000_0000), new(0x20, 0, 0, 0),
                new(0x15, 0, 1, 59), new(0x06, 0, 0, 0x0005_0001), new(0x06, 0, 0, 0x7fff_0000),
            ]));
            w.Write(new SeccompFilter(3, 2, 0, [.. Enumerable.Range(0, SeccompFilter.MaxInstructions).Select(i => new BpfInstruction(
                i == 0 ? ushort.MaxValue : (ushort)(i * 16), (byte)i, (byte)(0xff - i), i == 0 ? uint.MaxValue : (uint)i * 0x0101_0101u))]));
            w.BeginSection(ItemKinds.Thread);
            w.Write(new ThreadInfo(pid, Max, 0x7f00_0000_0000, 2, 8192, Above53, TopBit, 24, 0x7f00_0000_1000, 32, 0x5305_3053,
                SyscallRestart.RestartBlock, B("worker #1")));
            w.Write(new Registers(Enumerable.Range(0, Registers.Count).Select(i => i switch
            {
                0 => Max,
                1 => Above53,
                2 => TopBit,
                _ => (ulong)i * 0x0101_0101_0101_0101,
            }).ToArray()));
            w.Write(new ExtendedState(0x2e7, Pattern(2696, 5)));
            w.Write(new PendingSignals(SignalQueue.Thread, []));
            w.Write(new ThreadScheduling(SchedulingPolicy.Fifo, true, ThreadScheduling.MinNice, ThreadScheduling.MaxRealtimePriority, Max,
                [.. Enumerable.Repeat(0UL, ThreadScheduling.MaxAffinityWords - 1), TopBit])); // only CPUs 8128 and 8191
            w.Write(new ThreadScheduling(SchedulingPolicy.Idle, false, ThreadScheduling.MaxNice, 0, 0, [Max, Above53]));
            w.Write(new ThreadScheduling(SchedulingPolicy.RoundRobin, false, 0, 1, 50_000, [1]));
            w.Write(new IoPriority(IoPriorityClass.Idle, 0, 0));
            w.Write(new IoPriority(IoPriorityClass.Realtime, IoPriority.MaxHint, IoPriority.MaxLevel));
            w.Write(new IoPriority(IoPriorityClass.None, 0, 0));
            w.Write(new ThreadSeccomp(SeccompMode.Filter, 3));
            w.EndSection(ItemKinds.Thread);
            w.BeginSection(ItemKinds.Thread);
            w.Write(new ThreadInfo(int.MaxValue, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, SyscallRestart.None, []));
            w.Write(new Registers(new ulong[Registers.Count]));
            w.Write(new ExtendedState(0, []));
            w.Write(new ThreadSeccomp(SeccompMode.Strict, 0));
            w.EndSection(ItemKinds.Thread);
            w.EndSection(ItemKinds.Process);
            w.BeginSection(ItemKinds.Process);
            // A process in a job-control stop: its stop's wait status (SIGTSTP).
            w.Write(new ProcessInfo(7777, 1, 7777, 1, ProcessState.Stopped, 0x147f, 0, 0x12, 1, 0, 0, 0, 0, B("stopped"), [], [], []));
            w.EndSection(ItemKinds.Process);
            // Two processes whose working directory was deleted, each DCWD directly after its PINF, whose cwd is the DCWD's path:
            // a path with quotes, a backslash, control and non-ASCII bytes (and " (deleted)" in the name of its parent),
            // every mode bit of a directory, the largest owner; the shortest path ("/a"), a bare S_IFDIR mode, root's owner.
            byte[] deletedCwd = [.. B("/tmp/build \"7\" \\ \u00e9 (deleted)/"), 0x01, 0x7f, 0xff, (byte)'x'];
            w.BeginSection(ItemKinds.Process);
            w.Write(new ProcessInfo(7778, 7777, 7777, 1, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 0, B("make"), B("/usr/bin/make"), deletedCwd, B("/")));
            w.Write(new DeletedWorkingDirectory(deletedCwd, 0x4fff, uint.MaxValue, uint.MaxValue));
            w.EndSection(ItemKinds.Process);
            w.BeginSection(ItemKinds.Process);
            w.Write(new ProcessInfo(7779, 7777, 7777, 1, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 0, B("sh"), B("/bin/sh"), B("/a"), B("/")));
            w.Write(new DeletedWorkingDirectory(B("/a"), 0x4000, 0, 0));
            w.EndSection(ItemKinds.Process);
            w.BeginSection(ItemKinds.Fifo);
            w.Write(new PipeInfo(77, PipeKind.Anonymous, false, 65536, 5000));
            w.WritePipeData(77, Pattern(5000, 7));
            w.Write(new PipeInfo(Max, PipeKind.Named, true, 4096, 13));
            w.WritePipeData(Max, []);
            w.WritePipeData(Max, B("packet \"two\"\n"));
            w.EndSection(ItemKinds.Fifo);
            w.Write(new CheckpointStats(Above53, 258, 1, 2)); // frozen_ns stays below 2^63: see the report on the (long) cast in CheckpointStats.Describe
            w.Complete();
        }
        // An unknown optional section, with an unknown item in it, before the STAT item: readers skip it.
        return InsertFrames(stream.ToArray(), beforeTag: CheckpointStats.TagValue,
            (UnknownSection, ItemFlags.SectionBegin, []),
            (UnknownInSection, ItemFlags.None, Bytes(9, 8, 7)),
            (UnknownSection, ItemFlags.SectionEnd, []));
    }

    /// <summary>
    /// Inserts raw frames before the first frame with tag <paramref name="beforeTag"/> and rewrites
    /// the trailer (item count and chain checksum), for frames the writer refuses to write.
    /// </summary>
    public static byte[] InsertFrames(byte[] file, ItemTag beforeTag, params (ItemTag Tag, ItemFlags Flags, byte[] Payload)[] extra)
    {
        int pos = 32;
        for (int i = 0; i < 2; i++) pos += 2 + BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(pos));
        pos += 4;
        byte[] header = file[..pos];
        var frames = new List<byte[]>();
        bool inserted = false;
        while (true)
        {
            var tag = ItemTag.FromBytes(file.AsSpan(pos, 4));
            var flags = (ItemFlags)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 4));
            int size = FormatLimits.ItemFrameHeaderSize + (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 8)) + FormatLimits.ItemCrcSize;
            if (tag == Trailer.TagValue && (flags & (ItemFlags.SectionBegin | ItemFlags.SectionEnd)) == 0) break;
            if (!inserted && tag == beforeTag)
            {
                frames.AddRange(extra.Select(e => Frame(e.Tag, e.Flags, e.Payload)));
                inserted = true;
            }
            frames.Add(file[pos..(pos + size)]);
            pos += size;
        }
        if (!inserted) throw new ArgumentException($"no frame '{beforeTag}' in the file");
        var chain = new Crc32C();
        chain.Append(header.AsSpan(header.Length - 4));
        foreach (var f in frames) chain.Append(f.AsSpan(f.Length - 4));
        var trailer = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(trailer, (ulong)frames.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(8), chain.Current);
        return [.. header, .. frames.SelectMany(f => f), .. Frame(Trailer.TagValue, ItemFlags.Critical, trailer)];
    }

    private static byte[] Frame(ItemTag tag, ItemFlags flags, byte[] payload)
    {
        var frame = new byte[FormatLimits.ItemFrameHeaderSize + payload.Length + FormatLimits.ItemCrcSize];
        tag.WriteTo(frame);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)flags);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), (uint)payload.Length);
        payload.CopyTo(frame, FormatLimits.ItemFrameHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(frame.Length - 4), Crc32C.Compute(frame.AsSpan(0, frame.Length - 4)));
        return frame;
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>The 16 bytes of an ISCK or UDPS address: an IPv4 address's 4 and 12 zero bytes, or an IPv6 address's 16.</summary>
    private static byte[] Ip(string text)
    {
        byte[] bytes = System.Net.IPAddress.Parse(text).GetAddressBytes();
        return bytes.Length == 16 ? bytes : [.. bytes, .. new byte[12]];
    }

    /// <summary>The longest memfd name, 249 bytes: the byte values from 1 up, '/' left out.</summary>
    private static byte[] MemfdName() => [.. Enumerable.Range(1, 255).Where(b => b != '/').Take(MemfdObject.MaxName).Select(b => (byte)b)];

    /// <summary>The longest path of a deleted file, 4096 bytes: '/', then the byte values from 1 up, again and again, NUL left out, and an 'x' last.</summary>
    private static byte[] DeletedPath() =>
        [(byte)'/', .. Enumerable.Range(0, FormatLimits.MaxBytesString - 2).Select(i => (byte)(1 + i % 255)), (byte)'x'];

    private static byte[] Bytes(params byte[] b) => b;

    /// <summary>The INOT watches of the edge sample: wd 1 … 999 and 2^31 - 1, every mask bit the reader takes in turn, paths to escape, the shortest and the longest.</summary>
    private static InotifyWatch[] InotifyWatches()
    {
        uint[] bits = [.. Enumerable.Range(0, 32).Select(b => 1u << b).Where(b => (InotifyFile.KnownMask & b) != 0)];
        var watches = Enumerable.Range(1, 999).Select(wd => new InotifyWatch(wd, bits[wd % bits.Length] | (wd % 7 == 0 ? 0xfffu : 0),
            wd % 3 == 0 ? Above53 + (ulong)wd : 0x803, wd % 5 == 0 ? Max - (ulong)wd : TopBit + (ulong)wd, B($"/srv/\"watched\" {wd}\\\u00e9"))).ToList();
        watches[0] = watches[0] with { Mask = InotifyFile.KnownMask, Device = Max, Inode = Max, Path = B("/") };
        watches.Add(new InotifyWatch(int.MaxValue, 0x8400_0fff /* all fdinfo shows */, 0, 0, DeletedPath()));
        return [.. watches];
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)(i * 31 + seed + (i >> 8));
        return bytes;
    }
}
