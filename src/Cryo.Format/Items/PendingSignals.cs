namespace Cryo.Format;

public enum SignalQueue : byte { Thread = 0, Process = 1 }

/// <summary>
/// A queued signal: the first three fields of siginfo_t, then its remaining 116 bytes as the x86-64
/// kernel ABI lays them out (the union's meaning depends on signal and code, and the kernel takes
/// them back verbatim through rt_tgsigqueueinfo).
/// </summary>
public sealed record QueuedSignal(int Signal, int Errno, int Code, byte[] Data)
{
    public const int DataSize = 116;
}

/// <summary><c>PEND</c>: pending signals of one queue: a thread's own (in <c>THRD</c>) or the process's shared one (in <c>PROC</c>).</summary>
public sealed record PendingSignals(SignalQueue Queue, QueuedSignal[] Signals) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("PEND");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U8((byte)Queue);
        w.Count(Signals.Length);
        foreach (var s in Signals)
        {
            if (s.Data.Length != QueuedSignal.DataSize) throw new ArgumentException($"siginfo data is {s.Data.Length} bytes, not {QueuedSignal.DataSize}");
            w.I32(s.Signal); w.I32(s.Errno); w.I32(s.Code); w.Raw(s.Data);
        }
    }

    public static PendingSignals Decode(ref PayloadReader r)
    {
        byte queue = r.U8("queue");
        if (queue > 1) throw r.Invalid("queue", queue, "0 is a thread's queue, 1 the process's");
        var signals = new QueuedSignal[r.Count("signals", 12 + QueuedSignal.DataSize)];
        for (int i = 0; i < signals.Length; i++)
            signals[i] = new QueuedSignal(r.I32("signal"), r.I32("errno"), r.I32("code"), r.Raw(QueuedSignal.DataSize, "data").ToArray());
        return new PendingSignals((SignalQueue)queue, signals);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("queue", (ulong)Queue),
        ItemField.List("signals", Signals.Select(s => (IReadOnlyList<ItemField>)
            [ItemField.Num("signal", (long)s.Signal), ItemField.Num("errno", (long)s.Errno), ItemField.Num("code", (long)s.Code),
             ItemField.Blob("data", s.Data)]).ToArray()),
    ];
}
