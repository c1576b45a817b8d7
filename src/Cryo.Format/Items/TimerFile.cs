namespace Cryo.Format;

/// <summary>
/// <c>TMFD</c>: the timer behind one timerfd descriptor: its clock, its timerfd_settime flags,
/// the expirations not read yet, and its setting. A relative timer (no TFD_TIMER_ABSTIME) stores
/// the time that remained at the checkpoint, and the time between checkpoint and restore does
/// not count; an absolute one stores the clock time it expires at. 0 is a disarmed timer. The
/// status flags (O_NONBLOCK) are the <c>FDES</c>'s. Written right after the first <c>FDES</c> of
/// the open file description in each process that has it.
/// </summary>
public sealed record TimerFile(int Fd, int ClockId, uint Flags, ulong Ticks, ulong ValueNanoseconds, ulong IntervalNanoseconds) : CheckpointItem
{
    public const uint Absolute = 1, CancelOnSet = 2; // TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET

    /// <summary>The clocks a timerfd can use: REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM, BOOTTIME_ALARM.</summary>
    public static readonly IReadOnlySet<int> Clocks = new HashSet<int> { 0, 1, 7, 8, 9 };

    public static readonly ItemTag TagValue = ItemTag.Parse("TMFD");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.I32(ClockId); w.U32(Flags); w.U64(Ticks); w.U64(ValueNanoseconds); w.U64(IntervalNanoseconds);
    }

    public static TimerFile Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        int clock = r.I32("clock_id");
        if (!Clocks.Contains(clock)) throw r.Invalid("clock_id", clock, "a timerfd clock is 0, 1, 7, 8 or 9");
        uint flags = r.U32("flags");
        if ((flags & ~(Absolute | CancelOnSet)) != 0) throw r.Invalid("flags", flags, "only bits 0 (absolute) and 1 (cancel on set) are defined");
        if (flags == CancelOnSet) throw r.Invalid("flags", flags, "cancel on set needs an absolute timer");
        ulong ticks = r.U64("ticks");
        ulong value = r.U64("value_ns");
        ulong interval = r.U64("interval_ns");
        if (value == 0 && interval != 0) throw r.Invalid("interval_ns", interval, "a disarmed timer (value 0) has no interval");
        return new TimerFile(fd, clock, flags, ticks, value, interval);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("clock_id", (long)ClockId), ItemField.Hex("flags", Flags),
        // Expirations and what remained depend on the moment of the freeze. value_ns is a u64: no (long) cast,
        // which would print values of 2^63 and above as negative (and disagree with the .ksy).
        ItemField.Vol("ticks", Ticks), new("value_ns", FieldKind.Time, ValueNanoseconds), ItemField.Num("interval_ns", IntervalNanoseconds),
    ];
}
