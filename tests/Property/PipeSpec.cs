using System.Globalization;
using System.Text;
using Cryo.Format;

namespace Cryo.Tests.Property;

public enum PipeSort { Anon, Fifo }

/// <summary>Which ends the process keeps: a read and a write descriptor, one O_RDWR descriptor (FIFOs), or one end only.</summary>
public enum Ends { Both, RdWr, Read, Write }

public enum PipeStrategy { Tee, Drain }

/// <summary>
/// One pipe as testprogs/pipeset creates it (see its header comment): <see cref="Packets"/> non-null
/// means packet mode (pipe2 with O_DIRECT) holding those packets; otherwise a byte stream of
/// <see cref="Length"/> bytes. The content is bytes 0..total-1 of the pipe's stream.
/// </summary>
public sealed record PipeSpec(
    PipeSort Sort, Ends Ends, int Capacity, int Length, int[]? Packets, bool Patterned, ulong Seed,
    bool ReadNonBlock, bool WriteNonBlock, bool ReadCloexec, bool WriteCloexec)
{
    public const int Page = 4096;
    private const int O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 0x800, O_DIRECT = 0x4000, O_LARGEFILE = 0x8000;

    public bool Direct => Packets is not null;
    public int Total => Direct ? Packets!.Sum() : Length;
    public int Slots => Capacity / Page;
    public bool ReadHeld => Ends is Ends.Both or Ends.RdWr or Ends.Read;
    public bool WriteHeld => Ends is Ends.Both or Ends.RdWr or Ends.Write;

    /// <summary>Valid for pipeset: the checks the program would otherwise die on.</summary>
    public bool IsValid =>
        Capacity >= Page && Capacity <= 1 << 20 && (Capacity & (Capacity - 1)) == 0
        && (Ends != Ends.RdWr || Sort == PipeSort.Fifo)
        && (!Direct || (Sort == PipeSort.Anon && Packets!.Length <= Slots && Packets.All(p => p is >= 1 and <= Page) && Length == 0))
        && Length >= 0 && Length <= Capacity;

    /// <summary>The spec line pipeset reads.</summary>
    public string ToSpecLine()
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"kind={(Sort == PipeSort.Anon ? "anon" : "fifo")} ends={Ends.ToString().ToLowerInvariant()} cap={Capacity}");
        if (Direct) s.Append(CultureInfo.InvariantCulture, $" packets={string.Join(',', Packets!)}");
        else s.Append(CultureInfo.InvariantCulture, $" len={Length}");
        s.Append(CultureInfo.InvariantCulture, $" data={(Patterned ? "pattern" : "random")} seed={Seed}");
        s.Append(" nb=").Append(Flags(ReadNonBlock, WriteNonBlock));
        s.Append(" cloexec=").Append(Flags(ReadCloexec, WriteCloexec));
        return s.ToString();
    }

    private static string Flags(bool r, bool w) => (r, w) switch { (false, false) => "none", (true, false) => "r", (false, true) => "w", _ => "rw" };

    public override string ToString() => ToSpecLine();

    // ------------------------------------------------------------ what the pipe holds

    /// <summary>Bytes offset..offset+length-1 of the pipe's stream (the C twin is pipeset's content_fill).</summary>
    public byte[] Stream(long offset, int length)
    {
        var bytes = new byte[length];
        for (int k = 0; k < length; k++)
        {
            ulong i = (ulong)(offset + k);
            bytes[k] = Patterned ? (byte)(Seed + i % 251) : (byte)(Block(Seed, i >> 3) >> (8 * (int)(i & 7)));
        }
        return bytes;
    }

    public byte[] Content() => Stream(0, Total);

    /// <summary>The content split as the pipe holds it: one chunk per packet, or the stream as one.</summary>
    public List<byte[]> ContentPackets()
    {
        var content = Content();
        if (!Direct) return content.Length == 0 ? [] : [content];
        var list = new List<byte[]>();
        int at = 0;
        foreach (int size in Packets!)
        {
            list.Add(content[at..(at + size)]);
            at += size;
        }
        return list;
    }

    // testprogs/common.c tp_mix64 / tp_block
    private static ulong Mix64(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }

    private static ulong Block(ulong seed, ulong b) => Mix64(seed * 0x2545f4914f6cdd1dUL + (b + 1) * 0x9e3779b97f4a7c15UL);

    // ------------------------------------------------------------ expected state

    /// <summary>F_GETFL of the read end (or the O_RDWR descriptor): open() of a FIFO adds O_LARGEFILE, pipe2 does not.</summary>
    public int ExpectedReadFlags => Ends == Ends.RdWr
        ? O_RDWR | O_LARGEFILE | (ReadNonBlock || WriteNonBlock ? O_NONBLOCK : 0)
        : (Sort == PipeSort.Fifo ? O_LARGEFILE : 0) | (ReadNonBlock ? O_NONBLOCK : 0);

    /// <summary>F_GETFL of the write end; pipe2(O_DIRECT) puts O_DIRECT on the write end only.</summary>
    public int ExpectedWriteFlags => Ends == Ends.RdWr
        ? ExpectedReadFlags
        : O_WRONLY | (Sort == PipeSort.Fifo ? O_LARGEFILE : 0) | (WriteNonBlock ? O_NONBLOCK : 0) | (Direct ? O_DIRECT : 0);

    public int ExpectedReadFdFlags => Ends == Ends.RdWr ? (ReadCloexec || WriteCloexec ? 1 : 0) : ReadCloexec ? 1 : 0;
    public int ExpectedWriteFdFlags => Ends == Ends.RdWr ? ExpectedReadFdFlags : WriteCloexec ? 1 : 0;

    /// <summary>What the room check must measure: bytes (stream) or 1-byte packets until EAGAIN, when a write end is held.</summary>
    public int? ExpectedRoom => !WriteHeld ? null : Direct ? Slots - Packets!.Length : Capacity - Length;

    /// <summary>
    /// FINF.packetized: packet mode is visible from an O_DIRECT write end in the process, or from
    /// the packets themselves; an empty packet pipe whose writer is gone looks like a stream (and
    /// behaves like one: nobody can write to it).
    /// </summary>
    public bool ExpectedPacketized => Direct && (WriteHeld || Packets!.Length > 0);

    /// <summary>A drain cannot write packets back without an O_DIRECT write end in the process: it must refuse, consuming nothing.</summary>
    public bool DrainRefuses => Direct && !WriteHeld && Packets!.Length > 0;

    public static uint Crc(byte[] data) => Crc32C.Compute(data);
}

/// <summary>A generated case: the pipes of one pipeset process and the dump strategy.</summary>
public sealed record PipeSet(PipeSpec[] Pipes, PipeStrategy Strategy)
{
    public string SpecText => string.Join('\n', Pipes.Select(p => p.ToSpecLine())) + "\n";

    public bool DrainRefuses => Pipes.Any(p => p.DrainRefuses);

    public override string ToString() =>
        $"strategy {Strategy.ToString().ToLowerInvariant()}, {Pipes.Length} pipe(s):\n" +
        string.Join('\n', Pipes.Select((p, i) => $"  {i}: {p.ToSpecLine()}"));
}

/// <summary>A P5 case: a pipe set with one full pipe whose writer is blocked writing <see cref="Extra"/> more bytes.</summary>
public sealed record BlockedSet(PipeSet Set, int BlockedIndex, int Extra)
{
    public PipeSpec Blocked => Set.Pipes[BlockedIndex];

    public override string ToString() => $"blocked writer on pipe {BlockedIndex}, {Extra} bytes; {Set}";
}
