namespace Cryo.Format;

/// <summary>The interval timers of setitimer(2), numbered as on Linux (ITIMER_*).</summary>
public enum IntervalTimerKind : byte { Real = 0, Virtual = 1, Profiling = 2 }

/// <summary>
/// <c>ITMR</c>: one interval timer of the process (setitimer / alarm), as getitimer reported it at
/// the checkpoint: the reload interval (0 for a one-shot timer) and the time that remained until
/// it next expires. Writers write one item per armed timer, and one with a value of 0 for an
/// ITIMER_REAL stopped with an interval (a periodic timer that has fired, its SIGALRM pending).
/// </summary>
public sealed record IntervalTimer(IntervalTimerKind Which, ulong IntervalSeconds, uint IntervalMicroseconds,
    ulong ValueSeconds, uint ValueMicroseconds) : CheckpointItem
{
    public const uint MicrosecondsPerSecond = 1_000_000;
    public static readonly ItemTag TagValue = ItemTag.Parse("ITMR");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U8((byte)Which); w.U64(IntervalSeconds); w.U32(IntervalMicroseconds); w.U64(ValueSeconds); w.U32(ValueMicroseconds);
    }

    public static IntervalTimer Decode(ref PayloadReader r)
    {
        byte which = r.U8("which");
        if (which > (byte)IntervalTimerKind.Profiling)
            throw r.Invalid("which", which, "0 is ITIMER_REAL, 1 ITIMER_VIRTUAL, 2 ITIMER_PROF");
        ulong intervalSeconds = r.U64("interval_sec");
        uint intervalMicroseconds = Microseconds(ref r, "interval_usec");
        ulong valueSeconds = r.U64("value_sec");
        uint valueMicroseconds = Microseconds(ref r, "value_usec");
        return new IntervalTimer((IntervalTimerKind)which, intervalSeconds, intervalMicroseconds, valueSeconds, valueMicroseconds);
    }

    private static uint Microseconds(ref PayloadReader r, string field)
    {
        uint value = r.U32(field);
        if (value >= MicrosecondsPerSecond) throw r.Invalid(field, value, "microseconds are below 1000000 (whole seconds go in the seconds field)");
        return value;
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("which", (ulong)Which),
        ItemField.Num("interval_sec", IntervalSeconds), ItemField.Num("interval_usec", (ulong)IntervalMicroseconds),
        // What remained depends on the moment of the freeze.
        new("value_sec", FieldKind.Time, ValueSeconds), new("value_usec", FieldKind.Time, (ulong)ValueMicroseconds),
    ];
}
