using System.Text;
using Cryo.Format;
using FsCheck;
using FsCheck.Fluent;

namespace Cryo.Tests.Format;

/// <summary>FsCheck generators of arbitrary, valid item sequences (what a writer may produce).</summary>
public static class ItemGenerators
{
    private static Gen<ulong> U64 => ArbMap.Default.GeneratorFor<ulong>();
    private static Gen<uint> U32 => ArbMap.Default.GeneratorFor<uint>();
    private static Gen<int> I32 => ArbMap.Default.GeneratorFor<int>();
    private static Gen<byte> U8 => ArbMap.Default.GeneratorFor<byte>();

    public static Gen<byte[]> Bytes(int maxLength) =>
        Gen.Choose(0, maxLength).SelectMany(n => Gen.Choose(0, int.MaxValue).Select(seed =>
        {
            var b = new byte[n];
            new Random(seed).NextBytes(b);
            return b;
        }));

    /// <summary>Mostly small payloads, sometimes several MiB.</summary>
    public static Gen<int> DataLength(int unit) => Gen.Frequency(
        (8, Gen.Choose(0, 4)),
        (3, Gen.Choose(5, 64)),
        (1, Gen.Choose(256, 3 * (1 << 20) / unit))).Select(n => n * unit);

    private static Gen<byte[]> Text => Bytes(64);

    private static Gen<T[]> Array<T>(Gen<T> gen, int max) => Gen.Choose(0, max).SelectMany(n => gen.ArrayOf(n));

    private static Gen<CheckpointItem> ProcessInfo =>
        from ids in I32.ArrayOf(5)
        from state in Gen.Elements(ProcessState.Alive, ProcessState.Zombie, ProcessState.Stopped)
        from nums in U32.ArrayOf(5)
        from dumpable in U8
        from booleans in Gen.Choose(0, 1).Select(b => (byte)b).ArrayOf(2)
        from texts in Text.ArrayOf(4)
        select (CheckpointItem)new ProcessInfo(ids[0], ids[1], ids[2], ids[3], state, ids[4], nums[0], nums[1], dumpable, booleans[0], booleans[1], nums[2], nums[3],
            texts[0], texts[1], texts[2], texts[3]);

    /// <summary>
    /// Valid DCWD items: a path of 2 to 4096 bytes that starts with '/' and holds no NUL (mostly
    /// short, now and then up to the limit), a directory's mode (any permission bits), any owner.
    /// </summary>
    private static Gen<DeletedWorkingDirectory> DeletedWorkingDirectoryItem =>
        from rest in Gen.Frequency((8, Bytes(64)), (1, Bytes(FormatLimits.MaxBytesString - 2)))
        from last in Gen.Choose(1, 255)
        from permissions in Gen.Choose(0, 0xfff)
        from owners in U32.ArrayOf(2)
        select new DeletedWorkingDirectory([(byte)'/', .. rest.Select(b => b == 0 ? (byte)'-' : b), (byte)last],
            0x4000 | (uint)permissions, owners[0], owners[1]);

    /// <summary>
    /// The head of a PROC section as a writer writes it: its PINF, and for a process that is not a
    /// zombie now and then a deleted working directory: the PINF's cwd is the DCWD's path, and the
    /// DCWD directly follows the PINF.
    /// </summary>
    private static Gen<CheckpointItem[]> ProcessHead =>
        from head in ProcessInfo
        from deleted in DeletedWorkingDirectoryItem
        from cwdDeleted in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        select head is Cryo.Format.ProcessInfo { State: not ProcessState.Zombie } info && cwdDeleted
            ? new CheckpointItem[] { info with { Cwd = deleted.Path }, deleted }
            : [head];

    private static Gen<CheckpointItem> Credentials =>
        from ids in U32.ArrayOf(9)
        from caps in U64.ArrayOf(5)
        from groups in Array(U32, 40)
        select (CheckpointItem)new Credentials(ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7],
            caps[0], caps[1], caps[2], caps[3], caps[4], ids[8], groups);

    private static Gen<CheckpointItem> Limits =>
        Array(from r in U32 from s in U64 from h in U64 select new ResourceLimit(r, s, h), 20).Select(l => (CheckpointItem)new ResourceLimits(l));

    private static Gen<CheckpointItem> Handlers =>
        Array(from sig in Gen.Choose(1, 64) from h in U64 from f in U64 from r in U64 from m in U64
              select new SignalAction((uint)sig, h, f, r, m), 64).Select(a => (CheckpointItem)new SignalHandlers(a));

    private static Gen<CheckpointItem> Pending(SignalQueue queue) =>
        Array(from s in I32 from e in I32 from c in I32 from d in Bytes(0).Select(_ => new byte[QueuedSignal.DataSize])
              from seed in I32 select new QueuedSignal(s, e, c, Fill(d, seed)), 8).Select(a => (CheckpointItem)new PendingSignals(queue, a));

    private static byte[] Fill(byte[] b, int seed) { new Random(seed).NextBytes(b); return b; }

    private static Gen<CheckpointItem> OomScore =>
        Gen.Choose(OomScoreAdjustment.Min, OomScoreAdjustment.Max).Select(v => (CheckpointItem)new OomScoreAdjustment(v));

    /// <summary>Valid SCHD items: a priority only with a real-time policy, 1 to 128 mask words with at least one CPU.</summary>
    private static Gen<CheckpointItem> Scheduling =>
        from policy in Gen.Elements(Enum.GetValues<SchedulingPolicy>())
        from resetOnFork in Gen.Elements(true, false)
        from nice in Gen.Choose(ThreadScheduling.MinNice, ThreadScheduling.MaxNice)
        from priority in Gen.Choose(1, ThreadScheduling.MaxRealtimePriority)
        from slack in U64
        from words in Gen.Choose(1, ThreadScheduling.MaxAffinityWords).SelectMany(n => U64.ArrayOf(n))
        from cpu in Gen.Choose(0, ThreadScheduling.MaxAffinityWords * 64 - 1)
        select (CheckpointItem)new ThreadScheduling(policy, resetOnFork, nice, ThreadScheduling.IsRealtime(policy) ? (byte)priority : (byte)0, slack,
            [.. words.Select((w, i) => i == cpu / 64 % words.Length ? w | 1UL << (cpu % 64) : w)]); // one CPU at least

    private static Gen<CheckpointItem> IntervalTimerItem =>
        from which in Gen.Choose(0, 2)
        from seconds in U64.ArrayOf(2)
        from micros in Gen.Choose(0, (int)IntervalTimer.MicrosecondsPerSecond - 1).ArrayOf(2)
        select (CheckpointItem)new IntervalTimer((IntervalTimerKind)which, seconds[0], (uint)micros[0], seconds[1], (uint)micros[1]);

    /// <summary>Valid PTMR items: a timer clock, signal 0 only without notification, a thread only for notify 2, no interval on a disarmed timer.</summary>
    private static Gen<CheckpointItem> PosixTimerItem =>
        from id in Gen.Frequency((3, Gen.Choose(0, 64)), (1, Gen.Choose(0, int.MaxValue)))
        from clock in Gen.Elements(PosixTimer.Clocks.ToArray())
        from notify in Gen.Elements(Enum.GetValues<PosixTimerNotify>())
        from signal in Gen.Choose(notify == PosixTimerNotify.None ? 0 : 1, (int)PosixTimer.MaxSignal)
        from value in U64
        from thread in Gen.Choose(1, int.MaxValue)
        from remaining in Gen.Frequency((3, U64), (1, Gen.Constant(0UL)))
        from interval in Gen.Frequency((3, U64), (1, Gen.Constant(0UL)))
        select (CheckpointItem)new PosixTimer(id, clock, notify, (uint)signal, value, notify == PosixTimerNotify.Thread ? thread : 0,
            remaining, remaining == 0 ? 0 : interval);

    /// <summary>Valid SHMS items: an id not negative, a size not 0, mode bits of 0x7ff with key 0 when destroyed (0x200), a positive creator pid.</summary>
    private static Gen<CheckpointItem> SysVSegmentItem =>
        from id in Gen.Frequency((3, Gen.Choose(0, 1 << 16)), (1, Gen.Choose(0, int.MaxValue)))
        from key in Gen.Frequency((2, I32), (1, Gen.Constant(0)))
        from size in Gen.Frequency((3, Gen.Choose(1, 1 << 24).Select(n => (ulong)n)), (1, U64.Where(n => n > 0)))
        from permissions in Gen.Choose(0, (int)SysVSegment.PermissionBits)
        from destroyed in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
        from locked in Gen.Elements(false, true)
        from owners in U32.ArrayOf(4)
        from creator in Gen.Choose(1, int.MaxValue)
        from changed in ArbMap.Default.GeneratorFor<long>()
        select (CheckpointItem)new SysVSegment(id, destroyed ? 0 : key, size,
            (uint)permissions | (destroyed ? SysVSegment.Destroyed : 0) | (locked ? SysVSegment.Locked : 0),
            owners[0], owners[1], owners[2], owners[3], creator, changed);

    /// <summary>
    /// Valid MEMF items: an object id not 0, a size below 2^63, seals of 0x3f, a regular file's
    /// mode, a name of at most 249 bytes without NUL or '/'.
    /// </summary>
    private static Gen<CheckpointItem> MemfdObjectItem =>
        from id in Gen.Frequency((3, Gen.Choose(1, int.MaxValue).Select(n => (ulong)n)), (1, U64.Where(n => n != 0)))
        from device in U64
        from size in Gen.Frequency((3, Gen.Choose(0, 1 << 24).Select(n => (ulong)n)), (1, U64.Select(n => n >> 1)))
        from seals in Gen.Choose(0, (int)MemfdObject.KnownSeals)
        from permissions in Gen.Choose(0, 0xfff)
        from owners in U32.ArrayOf(2)
        from name in Bytes(MemfdObject.MaxName)
        select (CheckpointItem)new MemfdObject(id, device, size, (uint)seals, 0x8000 | (uint)permissions, owners[0], owners[1],
            [.. name.Select(b => b is 0 or (byte)'/' ? (byte)'-' : b)]);

    /// <summary>
    /// Valid DELF items: an object id not 0, a size below 2^63, a regular file's mode, a path of 2
    /// to 4096 bytes that starts with '/', does not end in '/' and holds no NUL.
    /// </summary>
    private static Gen<CheckpointItem> DeletedFileItem =>
        from id in Gen.Frequency((3, Gen.Choose(1, int.MaxValue).Select(n => (ulong)n)), (1, U64.Where(n => n != 0)))
        from device in U64
        from size in Gen.Frequency((3, Gen.Choose(0, 1 << 24).Select(n => (ulong)n)), (1, U64.Select(n => n >> 1)))
        from permissions in Gen.Choose(0, 0xfff)
        from owners in U32.ArrayOf(2)
        from rest in Gen.Frequency((8, Bytes(64)), (1, Bytes(FormatLimits.MaxBytesString - 2)))
        from last in Gen.Choose(1, 255).Where(b => b != '/')
        select (CheckpointItem)new DeletedFile(id, device, size, 0x8000 | (uint)permissions, owners[0], owners[1],
            [(byte)'/', .. rest.Select(b => b == 0 ? (byte)'-' : b), (byte)last]);

    /// <summary>Valid MDAT items: whole pages (mostly a few, at most 1 MiB) at a page-aligned offset, ending below 2^63.</summary>
    private static Gen<CheckpointItem> MemfdDataItem =>
        from id in U64
        from pages in Gen.Frequency((8, Gen.Choose(1, 4)), (1, Gen.Choose(5, FormatLimits.DataChunk / 4096)))
        from page in Gen.Frequency((3, Gen.Choose(0, 1 << 20).Select(n => (ulong)n)), (1, U64.Select(n => n >> 13)))
        from seed in I32
        select (CheckpointItem)new MemfdData(id, Math.Min(page, (ulong)(long.MaxValue / 4096) - (ulong)pages) * 4096, Fill(new byte[pages * 4096], seed));

    /// <summary>
    /// Valid USCK items: a socket id not 0, a peer that is not the socket itself (0: the peer was
    /// closed), a defined type, shut-down bits of 0x3, SO_PASSCRED or nothing, a peek offset of -1
    /// (off) or more.
    /// </summary>
    private static Gen<CheckpointItem> UnixSocketItem =>
        from fd in Gen.Choose(0, int.MaxValue)
        from id in Gen.Frequency((3, Gen.Choose(1, int.MaxValue).Select(n => (ulong)n)), (1, U64.Where(n => n != 0)))
        from peer in Gen.Frequency((3, U64), (1, Gen.Constant(0UL)))
        from type in Gen.Elements(Enum.GetValues<UnixSocketType>())
        from shutdown in Gen.Choose(0, UnixSocket.ReceiveShut | UnixSocket.SendShut)
        from buffers in U32.ArrayOf(2)
        from options in Gen.Elements(0u, UnixSocket.PassCredentials)
        from peek in Gen.Frequency((3, Gen.Constant(-1)), (1, Gen.Choose(0, int.MaxValue)))
        from queued in U64
        select (CheckpointItem)new UnixSocket(fd, id, peer == id ? 0 : peer, type, (byte)shutdown, buffers[0], buffers[1], options, peek, queued);

    /// <summary>
    /// A named connected Unix socket as a writer writes it: an FDES of kind 6 whose path is
    /// socket:[INODE], its USCK (stream or seqpacket, the inode as its socket id; a peer, or none
    /// when it was closed, and then shut down both ways), directly followed by its USNM, then its
    /// queued bytes as UDAT items (empty messages only on a seqpacket socket) that add up to its
    /// queued_bytes.
    /// </summary>
    private static Gen<CheckpointItem[]> NamedUnixSocketDescriptor =>
        from fd in Gen.Choose(0, 1 << 20)
        from fdFlags in Gen.Elements(0u, FileDescriptor.CloseOnExec) // SOCK_CLOEXEC
        from openFlags in Gen.Elements(0x2u, 0x802u) // O_RDWR, with SOCK_NONBLOCK (O_NONBLOCK)
        from inode in Gen.Choose(1, int.MaxValue)
        from peer in Gen.Frequency((3, Gen.Choose(1, int.MaxValue).Select(n => (ulong)n)), (1, Gen.Constant(0UL)))
        from ids in U64.ArrayOf(2)
        from type in Gen.Elements(UnixSocketType.Stream, UnixSocketType.SeqPacket)
        from buffers in U32.ArrayOf(2)
        from options in Gen.Elements(0u, UnixSocket.PassCredentials)
        from name in UnixSocketNameBytes
        from chunks in Gen.Choose(0, 3).SelectMany(n => Bytes(64).ArrayOf(n))
        select NamedUnixSocketItems(fd, fdFlags, openFlags, (ulong)inode, peer == (ulong)inode ? 0 : peer, ids, type, buffers, options, name,
            [.. chunks.Where(c => type == UnixSocketType.SeqPacket || c.Length > 0)]);

    private static CheckpointItem[] NamedUnixSocketItems(int fd, uint fdFlags, uint openFlags, ulong inode, ulong peer, ulong[] ids,
        UnixSocketType type, uint[] buffers, uint options, byte[] name, byte[][] queue) =>
    [
        new FileDescriptor(fd, FileKind.Socket, fdFlags, openFlags, 0, 0xc1ff, ids[0], inode, 0, ids[1], 0, Encoding.ASCII.GetBytes($"socket:[{inode}]")),
        new UnixSocket(fd, inode, peer, type, peer == 0 ? (byte)(UnixSocket.ReceiveShut | UnixSocket.SendShut) : (byte)0, buffers[0], buffers[1], options, -1,
            (ulong)queue.Sum(m => (long)m.Length)),
        new UnixSocketName(inode, name),
        .. queue.Select(m => new UnixSocketData(inode, m)),
    ];

    /// <summary>
    /// Valid USNM names, as writers write them: a path (absolute, or now and then relative, as a
    /// client may bind one; no NUL; 1 … 108 bytes) or an abstract name (a NUL, then any bytes, NUL
    /// among them, 1 … 108 bytes in all).
    /// </summary>
    private static Gen<byte[]> UnixSocketNameBytes =>
        from isAbstract in Gen.Elements(true, false)
        from relative in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
        from length in Gen.Frequency((4, Gen.Choose(1, 40)), (1, Gen.Choose(1, UnixSocketName.MaxLength)))
        from bytes in U8.ArrayOf(UnixSocketName.MaxLength - 1)
        select SocketName(isAbstract, relative, bytes[..(length - 1)]);

    private static byte[] SocketName(bool isAbstract, bool relative, byte[] rest) =>
        isAbstract ? [0, .. rest] : [relative ? (byte)'r' : (byte)'/', .. rest.Select(b => b == 0 ? (byte)'-' : b)];

    /// <summary>
    /// A listening Unix socket as a writer writes it: an FDES of kind 6 whose path is socket:[INODE]
    /// (the socket's inode, not its socket file's), directly followed by its ULSN.
    /// </summary>
    private static Gen<CheckpointItem[]> UnixListenerDescriptor =>
        from fd in Gen.Choose(0, 1 << 20)
        from fdFlags in Gen.Elements(0u, FileDescriptor.CloseOnExec) // SOCK_CLOEXEC
        from openFlags in Gen.Elements(0x2u, 0x802u) // O_RDWR, with SOCK_NONBLOCK (O_NONBLOCK)
        from inode in Gen.Choose(1, int.MaxValue)
        from ids in U64.ArrayOf(2)
        from listener in UnixListenerItem(fd)
        select new CheckpointItem[]
        {
            new FileDescriptor(fd, FileKind.Socket, fdFlags, openFlags, 0, 0xc1ff, ids[0], (ulong)inode, 0, ids[1], 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]")),
            listener,
        };

    /// <summary>
    /// Valid ULSN items: stream or seqpacket; a path as writers write it (absolute, no NUL, 1 … 108
    /// bytes) with its socket file's device, inode (not 0), mode (S_IFSOCK and any of the low 12
    /// bits) and owner, or an abstract name (a NUL, then any bytes, NUL among them, 1 … 108 bytes in
    /// all) with those five 0; any backlog, 0 included; SO_PASSCRED or nothing.
    /// </summary>
    private static Gen<CheckpointItem> UnixListenerItem(int fd) =>
        from type in Gen.Elements(UnixSocketType.Stream, UnixSocketType.SeqPacket)
        from isAbstract in Gen.Elements(true, false)
        from length in Gen.Frequency((4, Gen.Choose(1, 40)), (1, Gen.Choose(1, 108)))
        from bytes in U8.ArrayOf(107)
        from backlog in Gen.Frequency((3, Gen.Elements(0u, 5u, 128u, 4096u)), (1, U32))
        from options in Gen.Elements(0u, UnixSocket.PassCredentials)
        from device in U64
        from inode in Gen.Frequency((3, Gen.Choose(1, int.MaxValue).Select(n => (ulong)n)), (1, U64.Where(n => n != 0)))
        from permissions in Gen.Choose(0, 0xfff)
        from owners in U32.ArrayOf(2)
        select (CheckpointItem)(isAbstract
            ? new UnixListener(fd, type, [0, .. bytes[..(length - 1)]], backlog, options, 0, 0, 0, 0, 0)
            : new UnixListener(fd, type, [(byte)'/', .. bytes[..(length - 1)].Select(b => b == 0 ? (byte)'-' : b)], backlog, options,
                device, inode, 0xc000u | (uint)permissions, owners[0], owners[1]));

    /// <summary>
    /// A listening TCP socket as a writer writes it: an FDES of kind 6 whose path is socket:[INODE],
    /// directly followed by its ISCK.
    /// </summary>
    private static Gen<CheckpointItem[]> InetSocketDescriptor =>
        from fd in Gen.Choose(0, 1 << 20)
        from fdFlags in Gen.Elements(0u, FileDescriptor.CloseOnExec) // SOCK_CLOEXEC
        from openFlags in Gen.Elements(0x2u, 0x802u) // O_RDWR, with SOCK_NONBLOCK (O_NONBLOCK)
        from inode in Gen.Choose(1, int.MaxValue)
        from ids in U64.ArrayOf(2)
        from socket in InetSocketItem(fd)
        select new CheckpointItem[]
        {
            new FileDescriptor(fd, FileKind.Socket, fdFlags, openFlags, 0, 0xc1ff, ids[0], (ulong)inode, 0, ids[1], 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]")),
            socket,
        };

    /// <summary>
    /// Valid ISCK items: IPv4 with its 4 address bytes first and 12 zero bytes, no scope and no
    /// IPV6_V6ONLY; IPv6 with any 16 bytes (the wildcard and IPv4-mapped addresses among them), any
    /// scope and every option bit; any port, backlog (0: unknown) and timers.
    /// </summary>
    private static Gen<CheckpointItem> InetSocketItem(int fd) =>
        from family in Gen.Elements(InetSocket.Inet, InetSocket.Inet6)
        from port in Gen.Frequency((3, Gen.Elements(80, 443, 8080)), (2, Gen.Choose(0, ushort.MaxValue))).Select(p => (ushort)p)
        from bytes in U8.ArrayOf(16)
        from shape in Gen.Choose(0, 3) // IPv6: 0 the wildcard, 1 IPv4-mapped, else any bytes
        from scope in Gen.Frequency((3, Gen.Constant(0u)), (1, U32))
        from backlog in Gen.Frequency((1, Gen.Constant(0u)), (3, Gen.Choose(1, 4096).Select(b => (uint)b)), (1, U32))
        from options in Gen.Choose(0, 0x1f).Select(o => (uint)o)
        from timers in Gen.Frequency((3, Gen.Constant(0u)), (1, U32)).ArrayOf(2)
        select (CheckpointItem)(family == InetSocket.Inet
            ? new InetSocket(fd, family, port, [.. bytes[..4], .. new byte[12]], 0, backlog, options & ~InetSocket.V6Only, timers[0], timers[1])
            : new InetSocket(fd, family, port, shape switch
            {
                0 => new byte[16],
                1 => [.. new byte[10], 0xff, 0xff, .. bytes[12..]],
                _ => bytes,
            }, scope, backlog, options, timers[0], timers[1]));

    /// <summary>
    /// A UDP socket as a writer writes it: an FDES of kind 6 whose path is socket:[INODE], directly
    /// followed by its UDPS.
    /// </summary>
    private static Gen<CheckpointItem[]> InetDatagramSocketDescriptor =>
        from fd in Gen.Choose(0, 1 << 20)
        from fdFlags in Gen.Elements(0u, FileDescriptor.CloseOnExec) // SOCK_CLOEXEC
        from openFlags in Gen.Elements(0x2u, 0x802u) // O_RDWR, with SOCK_NONBLOCK (O_NONBLOCK)
        from inode in Gen.Choose(1, int.MaxValue)
        from ids in U64.ArrayOf(2)
        from socket in InetDatagramSocketItem(fd)
        select new CheckpointItem[]
        {
            new FileDescriptor(fd, FileKind.Socket, fdFlags, openFlags, 0, 0xc1ff, ids[0], (ulong)inode, 0, ids[1], 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]")),
            socket,
        };

    /// <summary>
    /// Valid UDPS items as writers write them: not bound (local port 0, the wildcard), bound, or
    /// bound and connected (a connected socket is bound; a socket not connected has peer port 0 and
    /// the wildcard); IPv4 endpoints with their 4 address bytes first and 12 zero bytes and no scope,
    /// no IPV6_V6ONLY; IPv6 endpoints with any 16 bytes (the wildcard and IPv4-mapped addresses
    /// among them) and any scope, every option bit; the buffer sizes Linux shows by default or any;
    /// a type of service of one byte.
    /// </summary>
    private static Gen<CheckpointItem> InetDatagramSocketItem(int fd) =>
        from family in Gen.Elements(InetSocket.Inet, InetSocket.Inet6)
        from state in Gen.Choose(0, 2) // 0 not bound, 1 bound, 2 bound and connected
        from ports in Gen.Frequency((3, Gen.Elements(53, 123, 514, 8125)), (2, Gen.Choose(1, ushort.MaxValue))).Select(p => (ushort)p).ArrayOf(2)
        from local in InetAddress(family)
        from peer in InetAddress(family)
        from scopes in Gen.Frequency((3, Gen.Constant(0u)), (1, U32)).ArrayOf(2)
        from options in Gen.Choose(0, 0xf).Select(o => (uint)o)
        from buffers in Gen.Frequency((3, Gen.Elements(212_992u, 4608u, 2304u)), (1, U32)).ArrayOf(2)
        from tos in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(0, 0xff))).Select(t => (uint)t)
        select (CheckpointItem)UdpSocket(fd, family, state, ports, local, peer, scopes, options, buffers, tos);

    private static InetDatagramSocket UdpSocket(int fd, byte family, int state, ushort[] ports, byte[] local, byte[] peer, uint[] scopes,
        uint options, uint[] buffers, uint tos)
    {
        bool v6 = family == InetSocket.Inet6, bound = state >= 1, connected = state == 2;
        return new InetDatagramSocket(fd, family,
            bound ? ports[0] : (ushort)0, bound ? local : new byte[16], bound && v6 ? scopes[0] : 0,
            connected ? ports[1] : (ushort)0, connected ? peer : new byte[16], connected && v6 ? scopes[1] : 0,
            v6 ? options : options & ~InetDatagramSocket.V6Only, buffers[0], buffers[1], tos);
    }

    /// <summary>The 16 bytes of an IP address of <paramref name="family"/>: IPv4 any 4 bytes and 12 zero bytes; IPv6 the wildcard, IPv4-mapped, or any bytes.</summary>
    private static Gen<byte[]> InetAddress(byte family) =>
        from bytes in U8.ArrayOf(16)
        from shape in Gen.Choose(0, 3) // IPv6: 0 the wildcard, 1 IPv4-mapped, else any bytes
        select AddressOfShape(family, shape, bytes);

    private static byte[] AddressOfShape(byte family, int shape, byte[] bytes) =>
        family == InetSocket.Inet
            ? [.. bytes[..4], .. new byte[12]]
            : shape switch
            {
                0 => new byte[16],
                1 => [.. new byte[10], 0xff, 0xff, .. bytes[12..]],
                _ => bytes,
            };

    /// <summary>UDAT items: any socket id, any data, empty included (a message of 0 bytes); mostly small, sometimes several MiB.</summary>
    private static Gen<CheckpointItem> UnixSocketDataItem =>
        from id in U64
        from length in DataLength(1)
        from seed in I32
        select (CheckpointItem)new UnixSocketData(id, Fill(new byte[length], seed));

    /// <summary>
    /// Valid TTYS items: a descriptor not negative, flags 0, 1 (controlling) or 3 (controlling and
    /// foreground: never 2 alone), any modes, line discipline and speeds, 19 control characters, any
    /// window size.
    /// </summary>
    private static Gen<CheckpointItem> TerminalStateItem =>
        from fd in Gen.Choose(0, int.MaxValue)
        from flags in Gen.Elements(0u, TerminalState.Controlling, TerminalState.Controlling | TerminalState.Foreground)
        from modes in U32.ArrayOf(4)
        from line in U8
        from cc in U8.ArrayOf(TerminalState.ControlCharCount)
        from speeds in U32.ArrayOf(2)
        from window in Gen.Choose(0, ushort.MaxValue).Select(n => (ushort)n).ArrayOf(4)
        select (CheckpointItem)new TerminalState(fd, flags, modes[0], modes[1], modes[2], modes[3], line, cc, speeds[0], speeds[1],
            window[0], window[1], window[2], window[3]);

    /// <summary>Process flags the decoder accepts: bits of 0x3f, no-inherit only with refuse-exec-gain, on-fault only with lock-future.</summary>
    private static Gen<ProcessMemoryFlags> ProcessFlags =>
        Gen.Choose(0, (int)MemoryAdvice.KnownProcessFlags).Select(f => (ProcessMemoryFlags)f).Where(f => MemoryAdvice.ProcessProblem(f) is null);

    private static Gen<CheckpointItem> Advice =>
        from processFlags in ProcessFlags
        from starts in U64.ArrayOf()
        from lengths in Gen.Choose(1, int.MaxValue).ArrayOf()
        from advice in Gen.Choose(1, (int)MemoryAdvice.KnownAdvice).Where(a => MemoryAdvice.Problem((AreaAdvice)a) is null).ArrayOf()
        select (CheckpointItem)new MemoryAdvice(processFlags, AscendingAreas(starts, lengths, advice));

    /// <summary>Areas ascending without overlap, as the decoder requires, from random starts, lengths and advice.</summary>
    private static AdvisedArea[] AscendingAreas(ulong[] starts, int[] lengths, int[] advice)
    {
        int count = Math.Min(starts.Length, Math.Min(lengths.Length, advice.Length));
        var areas = new List<AdvisedArea>();
        ulong floor = 0;
        foreach (var (start, length, flags) in starts.Take(count).Order().Zip(lengths, advice))
        {
            ulong from = Math.Max(start, floor);
            if (from > ulong.MaxValue - (ulong)length) break;
            areas.Add(new AdvisedArea(from, from + (ulong)length, (AreaAdvice)flags));
            floor = from + (ulong)length;
        }
        return [.. areas];
    }

    /// <summary>
    /// Valid GARD items: 1 … 40 ranges of whole pages, ascending without overlap (touching ranges
    /// included), from random starts (spread over the whole address space, or packed low so that
    /// they collide) and lengths.
    /// </summary>
    private static Gen<CheckpointItem> Guards =>
        from starts in Gen.Choose(1, 40).SelectMany(n => Gen.Frequency(
            (1, U64.Select(a => a & ~0xfffUL)),
            (2, Gen.Choose(0, 1 << 12).Select(page => (ulong)page << 12))).ArrayOf(n))
        from pages in Gen.Frequency((3, Gen.Choose(1, 16)), (1, Gen.Choose(1, 1 << 20))).ArrayOf(40)
        select (CheckpointItem)new GuardRegions(AscendingRanges(starts, pages));

    /// <summary>Ranges ascending without overlap, as the decoder requires; never none.</summary>
    private static GuardRange[] AscendingRanges(ulong[] starts, int[] pages)
    {
        var ranges = new List<GuardRange>();
        ulong floor = 0;
        foreach (var (start, count) in starts.Order().Zip(pages))
        {
            ulong from = Math.Max(start, floor), length = (ulong)count << 12;
            if (from > ulong.MaxValue - length) break;
            ranges.Add(new GuardRange(from, from + length));
            floor = from + length;
        }
        return ranges.Count > 0 ? [.. ranges] : [new GuardRange(ulong.MaxValue - 0x1fff, ulong.MaxValue - 0xfff)]; // the highest page a range can hold
    }

    private static Gen<CheckpointItem> Io =>
        from ioClass in Gen.Choose(0, 3)
        from hint in Gen.Choose(0, IoPriority.MaxHint)
        from level in Gen.Choose(0, IoPriority.MaxLevel)
        select (CheckpointItem)(ioClass == 0 ? new IoPriority(IoPriorityClass.None, 0, 0)
            : new IoPriority((IoPriorityClass)ioClass, (ushort)hint, (byte)level));

    private static Gen<BpfInstruction> Instruction =>
        from code in Gen.Choose(0, ushort.MaxValue)
        from jumps in U8.ArrayOf(2)
        from k in U32
        select new BpfInstruction((ushort)code, jumps[0], jumps[1], k);

    /// <summary>
    /// A process's SCMF items as a writer numbers them: the n-th has filter_id n and stands on a
    /// filter before it or first of a chain (parent 0), with flags 0 or LOG and a program of 1 …
    /// 4096 instructions (mostly short). None for most processes.
    /// </summary>
    private static Gen<CheckpointItem[]> SeccompFilters =>
        from count in Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Choose(1, 5)))
        from parents in Gen.Choose(0, int.MaxValue).ArrayOf(count)
        from flags in Gen.Elements(0u, SeccompFilter.Log).ArrayOf(count)
        from programs in Gen.Frequency((12, Gen.Choose(1, 16)), (1, Gen.Choose(17, SeccompFilter.MaxInstructions)))
            .SelectMany(n => Instruction.ArrayOf(n)).ArrayOf(count)
        select Enumerable.Range(0, count)
            .Select(i => (CheckpointItem)new SeccompFilter((uint)i + 1, (uint)(parents[i] % (i + 1)), flags[i], programs[i])).ToArray();

    /// <summary>A thread's SCMT, if any: none, strict mode, or filter mode naming one of the <paramref name="filters"/> SCMF items of its process.</summary>
    private static Gen<CheckpointItem[]> ThreadSeccompItems(int filters)
    {
        var none = Gen.Constant(System.Array.Empty<CheckpointItem>());
        var strict = Gen.Constant(new CheckpointItem[] { new ThreadSeccomp(SeccompMode.Strict, 0) });
        return filters == 0 ? Gen.Frequency((3, none), (1, strict))
            : Gen.Frequency((1, none), (1, strict),
                (3, Gen.Choose(1, filters).Select(id => new CheckpointItem[] { new ThreadSeccomp(SeccompMode.Filter, (uint)id) })));
    }

    private static Gen<CheckpointItem> Lock =>
        from fd in Gen.Choose(0, int.MaxValue)
        from kind in Gen.Choose(0, 2)
        from exclusive in Gen.Elements(true, false)
        from start in Gen.Choose(0, int.MaxValue)
        from length in Gen.Choose(0, int.MaxValue)
        select (CheckpointItem)(kind == 0 ? new FileLock(fd, FileLockKind.Flock, exclusive, 0, 0)
            : new FileLock(fd, (FileLockKind)kind, exclusive, (ulong)start, (ulong)length));

    private static Gen<CheckpointItem> EventFile =>
        from fd in Gen.Choose(0, int.MaxValue)
        from count in Gen.Frequency((3, U64.Where(c => c <= EventCounter.MaxCount)), (1, Gen.Elements(0UL, EventCounter.MaxCount)))
        from flags in Gen.Elements(0u, EventCounter.Semaphore)
        select (CheckpointItem)new EventCounter(fd, count, flags);

    private static Gen<CheckpointItem> SignalFile =>
        from fd in Gen.Choose(0, int.MaxValue)
        from mask in U64
        select (CheckpointItem)new SignalQueueFile(fd, mask & ~SignalQueueFile.Unaccepted);

    /// <summary>Valid TMFD items: a timerfd clock, cancel on set only with absolute, no interval on a disarmed timer.</summary>
    private static Gen<CheckpointItem> TimerFileItem =>
        from fd in Gen.Choose(0, int.MaxValue)
        from clock in Gen.Elements(TimerFile.Clocks.ToArray())
        from flags in Gen.Elements(0u, TimerFile.Absolute, TimerFile.Absolute | TimerFile.CancelOnSet)
        from ticks in U64
        from value in Gen.Frequency((3, U64), (1, Gen.Constant(0UL)))
        from interval in Gen.Frequency((3, U64), (1, Gen.Constant(0UL)))
        select (CheckpointItem)new TimerFile(fd, clock, flags, ticks, value, value == 0 ? 0 : interval);

    /// <summary>Valid EPOL items: watched numbers ascending, without repeats, never the epoll's own; masks as Linux keeps them.</summary>
    private static Gen<CheckpointItem> EventPollItem => Gen.Choose(0, int.MaxValue).SelectMany(EventPollOf).Select(epoll => (CheckpointItem)epoll);

    /// <summary>A valid EPOL of descriptor <paramref name="fd"/>.</summary>
    private static Gen<EventPollFile> EventPollOf(int fd) =>
        from targets in Array(Gen.Frequency((3, Gen.Choose(0, 64)), (1, Gen.Choose(0, int.MaxValue))), 12)
        from masks in U32.ArrayOf(12)
        from disabled in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true))).ArrayOf(12)
        from data in U64.ArrayOf(12)
        select new EventPollFile(fd,
            [.. targets.Where(t => t != fd).Distinct().Order().Select((t, i) => new EpollWatch(t, EpollEvents(masks[i], disabled[i]), data[i]))]);

    /// <summary>EPOLLET.</summary>
    private const uint EdgeTriggered = 0x8000_0000;

    /// <summary>
    /// An epoll descriptor as a writer writes it: an FDES of kind 7 whose path is
    /// anon_inode:[eventpoll] (close-on-exec or not, as EPOLL_CLOEXEC left it), directly followed
    /// by its EPOL and, now and then when a watch is edge-triggered and not one-shot (the instance
    /// was idle, and the files of some such watches were ready), by the optional EPQT of that fd,
    /// which lists some of those watches (at least one), in ascending order.
    /// </summary>
    private static Gen<CheckpointItem[]> EventPollDescriptor =>
        from fd in Gen.Choose(0, 1 << 20)
        from fdFlags in Gen.Elements(0u, FileDescriptor.CloseOnExec)
        from ids in U64.ArrayOf(3)
        from epoll in EventPollOf(fd)
        from idle in Gen.Elements(false, true)
        from ready in Gen.Elements(false, true).ArrayOf(12)
        let edges = ReportedEdges(epoll, ready)
        select idle && edges.Length > 0
            ? new CheckpointItem[] { EpollFdes(fd, fdFlags, ids), epoll, new EventPollIdle(fd, edges) }
            : [EpollFdes(fd, fdFlags, ids), epoll];

    /// <summary>
    /// The target fds of the edge-triggered, non-one-shot watches of <paramref name="epoll"/> whose
    /// file <paramref name="ready"/> says was ready (by position), ascending as the watches are;
    /// the first such watch when that picks none, so that an EPQT has at least one; empty only
    /// when the EPOL has no such watch.
    /// </summary>
    private static int[] ReportedEdges(EventPollFile epoll, bool[] ready)
    {
        var candidates = epoll.Watches.Where(w => (w.Events & EdgeTriggered) != 0 && (w.Events & EventPollFile.OneShot) == 0).ToArray();
        var picked = candidates.Where((_, i) => ready[i % ready.Length]).Select(w => w.TargetFd).ToArray();
        return picked.Length > 0 ? picked : [.. candidates.Take(1).Select(w => w.TargetFd)];
    }

    private static FileDescriptor EpollFdes(int fd, uint fdFlags, ulong[] ids) =>
        new(fd, FileKind.AnonInode, fdFlags, 0x2 /* O_RDWR */, 0, 0x180, ids[0], ids[1], 0, ids[2], 0, "anon_inode:[eventpoll]"u8.ToArray());

    /// <summary>A mask Linux can hold, from random bits: EPOLLEXCLUSIVE only with what it allows, EPOLLERR | EPOLLHUP added, or a fired one-shot's flag bits.</summary>
    private static uint EpollEvents(uint bits, bool disabled)
    {
        uint events = bits & EventPollFile.KnownEvents;
        if ((events & EventPollFile.Exclusive) != 0) return (events & EventPollFile.ExclusiveCompatible) | EventPollFile.ErrorAndHangUp;
        return disabled ? (events & EventPollFile.FlagBits) | EventPollFile.OneShot : events | EventPollFile.ErrorAndHangUp;
    }

    /// <summary>IN_ALL_EVENTS, IN_EXCL_UNLINK and IN_ONESHOT: the bits of a watch's mask that fdinfo shows, all a writer writes.</summary>
    private const uint FdinfoInotifyMask = 0xfff | 0x0400_0000 | 0x8000_0000;

    /// <summary>
    /// An inotify descriptor as a writer writes it: an FDES of kind 7 whose path is
    /// anon_inode:inotify (no brackets), directly followed by its INOT.
    /// </summary>
    private static Gen<CheckpointItem[]> InotifyDescriptor =>
        from fd in Gen.Choose(0, 1 << 20)
        from fdFlags in Gen.Elements(0u, FileDescriptor.CloseOnExec) // IN_CLOEXEC
        from openFlags in Gen.Elements(0u, 0x800u) // O_RDONLY, with IN_NONBLOCK (O_NONBLOCK)
        from ids in U64.ArrayOf(3)
        from inotify in InotifyItem(fd)
        select new CheckpointItem[]
        {
            new FileDescriptor(fd, FileKind.AnonInode, fdFlags, openFlags, 0, 0x180, ids[0], ids[1], 0, ids[2], 0, "anon_inode:inotify"u8.ToArray()),
            inotify,
        };

    /// <summary>
    /// Valid INOT items: watch descriptors from 1 up, ascending, with the gaps removed watches
    /// leave (some wide, up to near 2^31 - 1); masks as fdinfo shows them; absolute paths without
    /// NUL, mostly short, sometimes up to 4096 bytes.
    /// </summary>
    private static Gen<CheckpointItem> InotifyItem(int fd) =>
        from steps in Array(Gen.Frequency((6, Gen.Constant(1)), (2, Gen.Choose(2, 64)), (1, Gen.Choose(1, int.MaxValue / 16))), 12)
        from masks in U32.ArrayOf(12)
        from ids in U64.ArrayOf(24)
        from paths in Gen.Frequency((12, Bytes(64)), (1, Bytes(FormatLimits.MaxBytesString - 1))).ArrayOf(12)
        select (CheckpointItem)new InotifyFile(fd, [.. steps.Select((step, i) => new InotifyWatch(
            steps.Take(i + 1).Sum(), masks[i] & FdinfoInotifyMask, ids[2 * i], ids[2 * i + 1], [(byte)'/', .. paths[i].Select(b => b == 0 ? (byte)'-' : b)]))]);

    /// <summary>PID_MAX_LIMIT: the largest pid Linux hands out (pid_max may be set up to it).</summary>
    private const int PidMaxLimit = 1 << 22;

    /// <summary>
    /// A pidfd descriptor as a writer writes it: an FDES of kind 7 whose path is
    /// anon_inode:[pidfd] (O_RDWR, with PIDFD_NONBLOCK as O_NONBLOCK; close-on-exec as pidfd_open
    /// makes it, or cleared), directly followed by its PIDF: a pidfd of the process itself
    /// (<paramref name="ownPid"/>, when it is positive) or of another process, mostly with a pid
    /// Linux hands out, sometimes up to 2^31 - 1.
    /// </summary>
    private static Gen<CheckpointItem[]> PidFdDescriptor(int ownPid) =>
        from fd in Gen.Choose(0, 1 << 20)
        from fdFlags in Gen.Frequency((3, Gen.Constant(FileDescriptor.CloseOnExec)), (1, Gen.Constant(0u)))
        from openFlags in Gen.Elements(0x2u, 0x802u) // O_RDWR, with PIDFD_NONBLOCK (O_NONBLOCK)
        from ids in U64.ArrayOf(3)
        from pid in Gen.Frequency((1, Gen.Constant(ownPid > 0 ? ownPid : 1)), (4, Gen.Choose(1, PidMaxLimit)), (1, Gen.Choose(1, int.MaxValue)))
        select new CheckpointItem[]
        {
            new FileDescriptor(fd, FileKind.AnonInode, fdFlags, openFlags, 0, 0x1c0, ids[0], ids[1], 0, ids[2], 0, "anon_inode:[pidfd]"u8.ToArray()),
            new PidFd(fd, pid),
        };

    private static Gen<CheckpointItem> Owner =>
        from fd in Gen.Choose(0, int.MaxValue)
        from kind in Gen.Choose(0, 2)
        from owner in Gen.Choose(0, int.MaxValue)
        from signal in Gen.Choose(owner == 0 ? 1 : 0, (int)FileOwner.MaxSignal)
        select (CheckpointItem)new FileOwner(fd, (FileOwnerKind)kind, owner, (uint)signal);

    private static Gen<CheckpointItem> Layout =>
        from f in U64.ArrayOf(11)
        from aux in Array(from t in U64 from v in U64 select new AuxEntry(t, v), 40)
        select (CheckpointItem)new MemoryLayout(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], aux);

    private static Gen<CheckpointItem> Area =>
        from start in U64.Select(v => v >> 1)
        from length in Gen.Choose(1, 1 << 20)
        from offset in U64
        from prot in U32
        from flags in U32
        from kind in Gen.Choose(0, (int)MemoryAreaKind.Memfd)
        from dev in U64
        from ino in U64
        from path in Text
        from runs in Array(from a in U64 from b in U64 select new PageRun(a, b), 30)
        select (CheckpointItem)new MemoryArea(start, start + (ulong)length, offset, prot, flags, (MemoryAreaKind)kind, dev, ino, path, runs);

    private static Gen<CheckpointItem> Fd =>
        from fd in Gen.Choose(0, 1 << 20)
        from kind in Gen.Choose(0, (int)FileKind.Terminal)
        from n in U32.ArrayOf(3)
        from offset in ArbMap.Default.GeneratorFor<long>()
        from ids in U64.ArrayOf(5)
        from path in Bytes(FormatLimits.MaxBytesString)
        select (CheckpointItem)new FileDescriptor(fd, (FileKind)kind, n[0], n[1], offset, n[2], ids[0], ids[1], ids[2], ids[3], ids[4], path);

    private static Gen<CheckpointItem> Thread =>
        from tid in I32
        from v in U64.ArrayOf(8)
        from n in U32.ArrayOf(3)
        from restart in Gen.Choose(0, 2)
        from comm in Text
        select (CheckpointItem)new ThreadInfo(tid, v[0], v[1], n[0], v[2], v[3], v[4], v[5], v[6], n[1], n[2], (SyscallRestart)restart, comm);

    private static Gen<CheckpointItem> Regs => U64.ArrayOf(Registers.Count).Select(v => (CheckpointItem)new Registers(v));

    private static Gen<CheckpointItem> XState =>
        from xcr0 in U64 from area in Bytes(4096) select (CheckpointItem)new ExtendedState(xcr0, area);

    private static Gen<CheckpointItem> Pages =>
        from address in U64 from length in DataLength(4096).Where(n => n > 0) from seed in I32
        select (CheckpointItem)new PageData(address, Fill(new byte[length], seed));

    /// <summary>A valid file body: processes with threads and pages, then a FIFO section, then optional stats.</summary>
    public static Gen<List<CheckpointItem>> Body =>
        from processes in Gen.Choose(0, 3).SelectMany(n => ProcessBlock.ArrayOf(n))
        from pipes in Gen.Choose(0, 4).SelectMany(n => PipeBlock.ArrayOf(n))
        from stats in Gen.Elements(true, false)
        from frozen in U64
        select Assemble(processes, pipes, stats ? new CheckpointStats(frozen, 3, 1, 1) : null);

    private static List<CheckpointItem> Assemble(List<CheckpointItem>[] processes, List<CheckpointItem>[] pipes, CheckpointStats? stats)
    {
        var items = new List<CheckpointItem>();
        foreach (var p in processes) items.AddRange(p);
        if (pipes.Length > 0)
        {
            items.Add(new SectionBegin(ItemKinds.Fifo));
            foreach (var p in pipes) items.AddRange(p);
            items.Add(new SectionEnd(ItemKinds.Fifo));
        }
        if (stats is not null) items.Add(stats);
        return items;
    }

    private static Gen<List<CheckpointItem>> ProcessBlock =>
        from head in ProcessHead
        from rest in Gen.Frequency(
            (26, Gen.OneOf(Credentials, Limits, Handlers, Pending(SignalQueue.Process), IntervalTimerItem, PosixTimerItem, OomScore, SysVSegmentItem,
                MemfdObjectItem, MemfdDataItem, DeletedFileItem, Layout, Area, Advice, Guards, Fd, Owner, Lock, EventFile, SignalFile, TimerFileItem, EventPollItem,
                UnixSocketItem, UnixSocketDataItem, TerminalStateItem, Pages).Select(item => new[] { item })),
            (1, EventPollDescriptor), (1, InotifyDescriptor), (1, PidFdDescriptor(head[0] is Cryo.Format.ProcessInfo info ? info.Pid : 0)),
            (1, UnixListenerDescriptor), (1, NamedUnixSocketDescriptor), (1, InetSocketDescriptor),
            (1, InetDatagramSocketDescriptor)).ListOf()
        from filters in SeccompFilters
        from threads in Gen.Choose(0, 2).SelectMany(n => ThreadBlock(filters.Length).ArrayOf(n))
        select Wrap(ItemKinds.Process, [.. head, .. rest.SelectMany(r => r), .. filters, .. threads.SelectMany(t => t)]);

    /// <summary>A THRD section; its SCMT, if any, last and naming one of the process's <paramref name="filters"/> seccomp filters.</summary>
    private static Gen<List<CheckpointItem>> ThreadBlock(int filters) =>
        from head in Thread
        from rest in Gen.OneOf(Regs, XState, Pending(SignalQueue.Thread), Scheduling, Io).ListOf()
        from seccomp in ThreadSeccompItems(filters)
        select Wrap(ItemKinds.Thread, [head, .. rest, .. seccomp]);

    private static Gen<List<CheckpointItem>> PipeBlock =>
        from id in U64
        from kind in Gen.Elements(PipeKind.Anonymous, PipeKind.Named)
        from packets in Gen.Elements(true, false)
        from chunks in Gen.Choose(0, 3).SelectMany(n => DataLength(1).Where(l => l > 0).ArrayOf(n))
        from seed in I32
        select PipeItems(id, kind, packets, chunks, seed);

    private static List<CheckpointItem> PipeItems(ulong id, PipeKind kind, bool packets, int[] chunks, int seed)
    {
        long total = chunks.Sum(c => (long)c);
        var items = new List<CheckpointItem> { new PipeInfo(id, kind, packets, (uint)Math.Max(total, 4096), (ulong)total) };
        foreach (int c in chunks) items.Add(new PipeData(id, Fill(new byte[c], seed + c)));
        return items;
    }

    private static List<CheckpointItem> Wrap(ItemTag section, List<CheckpointItem> inner) =>
        [new SectionBegin(section), .. inner, new SectionEnd(section)];

    /// <summary>Writes items as a writer would; PipeData goes through WritePipeData, which may split it.</summary>
    public static byte[] Write(IEnumerable<CheckpointItem> items)
    {
        using var stream = new MemoryStream();
        using (var writer = new CheckpointWriter(stream, SampleFiles.Header(), leaveOpen: true))
        {
            foreach (var item in items)
            {
                if (item is PipeData d) writer.WritePipeData(d.PipeId, d.Data.Span);
                else writer.Write(item);
            }
            writer.Complete();
        }
        return stream.ToArray();
    }

    /// <summary>The bytes an item costs in a file, for the size filters: the data of page, memfd, socket and pipe items, a seccomp filter's program, an inotify instance's watches, 64 for any other.</summary>
    public static int DataBytes(CheckpointItem item) => item switch
    {
        PageData p => p.Data.Length,
        SeccompFilter f => 8 * f.Program.Length,
        InotifyFile i => i.Watches.Sum(w => 26 + w.Path.Length),
        MemfdData m => m.Data.Length,
        UnixSocketData u => u.Data.Length,
        PipeData d => d.Data.Length,
        _ => 64,
    };

    public static string Describe(IEnumerable<CheckpointItem> items) =>
        new StringBuilder().AppendJoin(' ', items.Select(i => i.Tag.ToString())).ToString();
}
