namespace Cryo.Format;

/// <summary>How a POSIX timer tells of its expiry (struct sigevent's sigev_notify, as /proc/PID/timers names it).</summary>
public enum PosixTimerNotify : byte
{
    /// <summary>SIGEV_SIGNAL: a signal to the process ("signal/pid.N").</summary>
    Process = 0,
    /// <summary>SIGEV_NONE: nothing; the program asks with timer_gettime ("none/pid.N").</summary>
    None = 1,
    /// <summary>SIGEV_THREAD_ID: a signal to one thread of the process ("signal/tid.N"; glibc's SIGEV_THREAD is this, to its helper thread).</summary>
    Thread = 2,
}

/// <summary>
/// <c>PTMR</c>: one POSIX timer of the process (timer_create): its id, its clock, how it notifies
/// (signal, value, thread), and its setting as timer_gettime reported it at the checkpoint: the
/// time that remained until it next expires (0: disarmed) and its period. The time between
/// checkpoint and restore does not count, as for <c>ITMR</c>. One item per timer, in ascending
/// order of id.
/// </summary>
public sealed record PosixTimer(int Id, int ClockId, PosixTimerNotify Notify, uint Signal, ulong Value, int ThreadId,
    ulong ValueNanoseconds, ulong IntervalNanoseconds) : CheckpointItem
{
    public const uint MaxSignal = 64;

    /// <summary>
    /// The clocks a timer may run on: REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM,
    /// BOOTTIME_ALARM, TAI, and the CPU-time clocks of the process itself as the kernel encodes
    /// them (CLOCK_PROCESS_CPUTIME_ID becomes -6: profiling -8, virtual -7, scheduler -6).
    /// </summary>
    public static readonly IReadOnlySet<int> Clocks = new HashSet<int> { 0, 1, 7, 8, 9, 11, -8, -7, -6 };

    public static readonly ItemTag TagValue = ItemTag.Parse("PTMR");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Id); w.I32(ClockId); w.U8((byte)Notify); w.U32(Signal); w.U64(Value); w.I32(ThreadId);
        w.U64(ValueNanoseconds); w.U64(IntervalNanoseconds);
    }

    public static PosixTimer Decode(ref PayloadReader r)
    {
        int id = r.I32("id");
        if (id < 0) throw r.Invalid("id", id, "timer ids are not negative");
        int clock = r.I32("clock_id");
        if (!Clocks.Contains(clock)) throw r.Invalid("clock_id", clock, "a timer clock is 0, 1, 7, 8, 9, 11, or the process's own CPU-time clock (-8, -7, -6)");
        byte notify = r.U8("notify");
        if (notify > (byte)PosixTimerNotify.Thread) throw r.Invalid("notify", notify, "0 is a signal to the process, 1 none, 2 a signal to a thread");
        uint signal = r.U32("signal");
        if (signal > MaxSignal || signal == 0 && notify != (byte)PosixTimerNotify.None)
            throw r.Invalid("signal", signal, $"a timer that signals uses a signal 1 … {MaxSignal}");
        ulong value = r.U64("value");
        int thread = r.I32("thread_id");
        if (notify == (byte)PosixTimerNotify.Thread ? thread <= 0 : thread != 0)
            throw r.Invalid("thread_id", thread, "a thread id for a timer that signals a thread (notify 2), 0 for the others");
        ulong remaining = r.U64("value_ns");
        ulong interval = r.U64("interval_ns");
        if (remaining == 0 && interval != 0) throw r.Invalid("interval_ns", interval, "a disarmed timer (value 0) has no interval");
        return new PosixTimer(id, clock, (PosixTimerNotify)notify, signal, value, thread, remaining, interval);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("id", (long)Id), ItemField.Num("clock_id", (long)ClockId), ItemField.Num("notify", (ulong)Notify),
        ItemField.Num("signal", (ulong)Signal), ItemField.Hex("value", Value), ItemField.Pid("thread_id", ThreadId),
        // What remained depends on the moment of the freeze.
        new("value_ns", FieldKind.Time, ValueNanoseconds), ItemField.Num("interval_ns", IntervalNanoseconds),
    ];
}
