using System.Runtime.InteropServices;
using Cryo.Interop;

namespace Cryo.Check;

/// <summary>Probes of what pipe checkpointing uses: FIONREAD, F_GETPIPE_SZ/F_SETPIPE_SZ, tee, packet mode, pipe-max-size.</summary>
internal static class PipeProbes
{
    public static ProbeOutcome Fionread()
    {
        var (r, w) = CheckNative.Pipe(Native.O_CLOEXEC);
        using var read = new FdHolder(r);
        using var write = new FdHolder(w);
        CheckNative.WriteAll(w, "12345"u8);
        int count = CheckNative.Fionread(r);
        return count == 5 ? ProbeOutcome.Ok("FIONREAD counts the 5 bytes in a pipe") : ProbeOutcome.Missing($"FIONREAD gave {count} for 5 bytes");
    }

    public static ProbeOutcome PipeSize()
    {
        var (r, w) = CheckNative.Pipe(Native.O_CLOEXEC);
        using var read = new FdHolder(r);
        using var write = new FdHolder(w);
        int size = Native.Fcntl(r, Native.F_GETPIPE_SZ, 0);
        if (size < 0) return ProbeOutcome.Missing($"F_GETPIPE_SZ: {CheckNative.LastError()}");
        int wanted = size * 2;
        int set = Native.Fcntl(r, Native.F_SETPIPE_SZ, wanted);
        if (set < 0) return ProbeOutcome.Degraded($"F_GETPIPE_SZ {size}; F_SETPIPE_SZ {wanted}: {CheckNative.LastError()}");
        return ProbeOutcome.Ok($"F_GETPIPE_SZ {size}, F_SETPIPE_SZ {wanted} -> {Native.Fcntl(r, Native.F_GETPIPE_SZ, 0)}");
    }

    /// <summary>tee() copies pipe data into a second pipe without consuming it (cryo's default pipe dump).</summary>
    public static unsafe ProbeOutcome Tee()
    {
        var (r1, w1) = CheckNative.Pipe(Native.O_CLOEXEC | Native.O_NONBLOCK);
        var (r2, w2) = CheckNative.Pipe(Native.O_CLOEXEC | Native.O_NONBLOCK);
        using var a = new FdHolder(r1);
        using var b = new FdHolder(w1);
        using var c = new FdHolder(r2);
        using var d = new FdHolder(w2);
        CheckNative.WriteAll(w1, "pipe data"u8);
        nint copied = Native.Tee(r1, w2, 9, 0);
        if (copied < 0) return ProbeOutcome.Missing($"tee: {CheckNative.LastError()}; use --pipe-dump drain");
        int left = CheckNative.Fionread(r1);
        Span<byte> buffer = stackalloc byte[16];
        nint got;
        fixed (byte* p = buffer) got = Native.Read(r2, p, 16);
        return copied == 9 && left == 9 && got == 9 && buffer[..9].SequenceEqual("pipe data"u8)
            ? ProbeOutcome.Ok("tee copied 9 bytes, the source still holds 9")
            : ProbeOutcome.Degraded($"tee copied {copied}, source holds {left}, copy read {got}; use --pipe-dump drain");
    }

    /// <summary>
    /// Packet mode: pipe2(O_DIRECT) keeps write boundaries (1 + 777 bytes read back as two reads),
    /// and tee carries the packet flag into the copy (how cryo tells packet pipes apart).
    /// </summary>
    public static unsafe ProbeOutcome PacketMode()
    {
        int r1, w1;
        try { (r1, w1) = CheckNative.Pipe(Native.O_CLOEXEC | Native.O_NONBLOCK | CheckNative.O_DIRECT); }
        catch (SysCallException e) { return ProbeOutcome.Missing($"pipe2(O_DIRECT): {e.ErrnoName}"); }
        var (r2, w2) = CheckNative.Pipe(Native.O_CLOEXEC | Native.O_NONBLOCK);
        using var a = new FdHolder(r1);
        using var b = new FdHolder(w1);
        using var c = new FdHolder(r2);
        using var d = new FdHolder(w2);
        CheckNative.WriteAll(w1, new byte[1]);
        CheckNative.WriteAll(w1, new byte[777]);
        nint copied = Native.Tee(r1, w2, 778, 0);
        var buffer = new byte[4096];
        nint first, second, teeFirst, teeSecond;
        fixed (byte* p = buffer)
        {
            teeFirst = Native.Read(r2, p, 4096);
            teeSecond = Native.Read(r2, p, 4096);
            first = Native.Read(r1, p, 4096);
            second = Native.Read(r1, p, 4096);
        }
        if (first != 1 || second != 777)
            return ProbeOutcome.Missing($"reads of an O_DIRECT pipe returned {first} and {second}, expected 1 and 777");
        if (copied != 778 || teeFirst != 1 || teeSecond != 777)
            return ProbeOutcome.Degraded($"packets kept, but tee copied {copied} and its copy read as {teeFirst} + {teeSecond}");
        return ProbeOutcome.Ok("O_DIRECT pipe reads 1 + 777 as two packets; tee keeps the packet boundaries");
    }

    public static ProbeOutcome PipeMaxSize()
    {
        string text = File.ReadAllText("/proc/sys/fs/pipe-max-size").Trim();
        return long.TryParse(text, out long size)
            ? ProbeOutcome.Ok($"{size} bytes ({size / 1024} KiB): larger pipes need CAP_SYS_RESOURCE at restore")
            : ProbeOutcome.Degraded($"unreadable value '{text}'");
    }
}
