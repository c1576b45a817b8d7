using System.Buffers.Binary;
using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// POSIX timers (PTMR): timer_create's timers. /proc/PID/timers lists each one's id, signal and
/// sigev_value, how it notifies and its clock; the setting is read with an injected
/// timer_gettime (which changes nothing). A restore makes them again inside the process with
/// their ids (prctl(PR_TIMER_CREATE_RESTORE_IDS) where the kernel has it, else by creating in
/// sequence and deleting the ids that were free), then arms each with what remained, late in the
/// finish phase like the interval timers: the time between checkpoint and restore does not
/// count. Refused: per-thread CPU-time clocks and other processes' clocks, and a notify kind
/// other than a signal to the process or one of its threads, or none.
/// </summary>
internal sealed class PosixTimers : IResourceKind
{
    private const int SigeventSize = 64, ItimerspecSize = 32;
    private const int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD_ID = 4;

    public string Name => "PosixTimers";

    public bool Handles(CheckpointItem item) => item is PosixTimer;

    // ---------------------------------------------------------------- dump

    /// <summary>One timer as /proc/PID/timers lists it.</summary>
    internal sealed record ListedTimer(int Id, int Signal, ulong Value, string Notify, int NotifyTarget, int ClockId);

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        var listed = Read(process.Pid);
        if (listed.Count == 0) return new DumpedItems([]);
        var items = new List<CheckpointItem>();
        using var scratch = process.Scratch(ItimerspecSize);
        Span<byte> raw = stackalloc byte[ItimerspecSize];
        foreach (var timer in listed.OrderBy(t => t.Id))
        {
            string where = $"POSIX timer {timer.Id} (timer_create)";
            int clock = OwnCpuClock(timer.ClockId, process.Pid);
            if (!PosixTimer.Clocks.Contains(clock))
                throw new UnsupportedResourceException(process.Pid, where,
                    $"it runs on clock {timer.ClockId}, a thread's or another process's CPU-time clock, which is not saved");
            var (notify, thread) = timer.Notify switch
            {
                "signal/pid" => (PosixTimerNotify.Process, 0),
                "none/pid" or "none/tid" => (PosixTimerNotify.None, 0),
                "signal/tid" when process.Threads.Any(t => t.Tid == timer.NotifyTarget) => (PosixTimerNotify.Thread, timer.NotifyTarget),
                _ => throw new UnsupportedResourceException(process.Pid, where,
                    $"it notifies '{timer.Notify}.{timer.NotifyTarget}', which is not a signal to this process or one of its threads"),
            };
            process.Syscalls.Checked($"timer_gettime({timer.Id})", InjectedCalls.TimerGettime, timer.Id, (long)scratch.Address);
            scratch.Read(0, raw);
            ulong interval = Nanoseconds(raw), remaining = Nanoseconds(raw[16..]);
            // SIGEV_NONE keeps whatever sigev_signo the program passed, set or not: nothing reads it.
            uint signal = notify == PosixTimerNotify.None && timer.Signal is < 1 or > (int)PosixTimer.MaxSignal ? 0 : (uint)timer.Signal;
            items.Add(new PosixTimer(timer.Id, clock, notify, signal, timer.Value, thread, remaining, remaining == 0 ? 0 : interval));
        }
        return new DumpedItems(items);
    }

    /// <summary>
    /// A CPU-time clock id names its process (~pid &lt;&lt; 3 | type; 0 is "the caller"): the
    /// process's own clock named by its pid (clock_getcpuclockid(getpid())) is written as the
    /// caller's, which is what it is again in the restored process. Other ids are left as they are.
    /// </summary>
    internal static int OwnCpuClock(int clock, int pid)
    {
        const int PerThread = 4, TypeMask = 3;
        if (clock >= 0 || (clock & PerThread) != 0 || ~(clock >> 3) != pid) return clock;
        return (~0 << 3) | (clock & TypeMask);
    }

    private static ulong Nanoseconds(ReadOnlySpan<byte> timespec) =>
        new Native.TimeSpec { Seconds = BinaryPrimitives.ReadInt64LittleEndian(timespec), Nanoseconds = BinaryPrimitives.ReadInt64LittleEndian(timespec[8..]) }.TotalNanoseconds;

    /// <summary>
    /// /proc/PID/timers (none where the kernel lacks the file): per timer "ID: n", "signal: sig/value"
    /// (value in hex), "notify: kind/pid.N" or "kind/tid.N", "ClockID: c".
    /// </summary>
    internal static List<ListedTimer> Read(int pid)
    {
        string path = ProcFiles.PathOf(pid, "timers");
        if (!File.Exists(path)) return [];
        return Parse(ProcFiles.ReadText(path), path);
    }

    internal static List<ListedTimer> Parse(string text, string path)
    {
        var timers = new List<ListedTimer>();
        var fields = new Dictionary<string, string>();
        void Flush()
        {
            if (fields.Count == 0) return;
            string Field(string key) => fields.TryGetValue(key, out var v) ? v : throw new ProcFormatException(path, $"a timer without '{key}'");
            var signal = Field("signal").Split('/');
            var notify = Field("notify");
            int dot = notify.LastIndexOf('.');
            if (signal.Length != 2 || dot < 0) throw new ProcFormatException(path, $"unexpected timer lines 'signal: {Field("signal")}', 'notify: {notify}'");
            timers.Add(new ListedTimer(int.Parse(Field("ID"), CultureInfo.InvariantCulture), int.Parse(signal[0], CultureInfo.InvariantCulture),
                ulong.Parse(signal[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture), notify[..dot],
                int.Parse(notify[(dot + 1)..], CultureInfo.InvariantCulture), int.Parse(Field("ClockID"), CultureInfo.InvariantCulture)));
            fields.Clear();
        }
        foreach (var line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            string key = line[..colon], value = line[(colon + 1)..].Trim();
            if (key == "ID") Flush();
            fields[key] = value;
        }
        Flush();
        return timers;
    }

    // ---------------------------------------------------------------- restore

    internal sealed class TimerState
    {
        public List<PosixTimer> Timers { get; } = [];
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException("PTMR outside a PROC section");
        var timer = (PosixTimer)item;
        var timers = process.State<TimerState>().Timers;
        if (timers.Count > 0 && timers[^1].Id >= timer.Id)
            throw new InvalidDataException($"image of pid {process.Pid}: PTMR {timer.Id} after PTMR {timers[^1].Id} (ids ascend without repeats)");
        timers.Add(timer);
    }

    /// <summary>Makes every saved timer with its id, then arms each with what remained at the checkpoint.</summary>
    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var timers = process.State<TimerState>().Timers;
        if (timers.Count == 0) return;
        var scratch = process.ScratchFor("timer_create");
        var sys = process.Syscalls;
        bool askForIds = sys.Invoke(InjectedCalls.Prctl, InjectedCalls.PR_TIMER_CREATE_RESTORE_IDS, InjectedCalls.PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0) == 0;
        var spare = new List<int>();
        Span<byte> made = stackalloc byte[4];
        Span<byte> spec = stackalloc byte[ItimerspecSize];
        try
        {
            foreach (var timer in timers)
            {
                string what = $"pid {process.Pid}: POSIX timer {timer.Id}";
                WriteSigevent(scratch, timer);
                while (true)
                {
                    scratch.Write(SigeventSize, BitConverter.GetBytes(askForIds ? timer.Id : 0));
                    sys.Checked($"timer_create for {what} (clock {timer.ClockId})", InjectedCalls.TimerCreate, timer.ClockId,
                        (long)scratch.Address, (long)scratch.Address + SigeventSize);
                    scratch.Read(SigeventSize, made);
                    int id = BinaryPrimitives.ReadInt32LittleEndian(made);
                    if (id == timer.Id) break;
                    // In sequence from 0 in a new process: ids below the wanted one were free at the checkpoint.
                    if (askForIds || id > timer.Id)
                        throw new InvalidOperationException($"{what}: the kernel made timer {id} instead (its ids are not given in sequence here)");
                    spare.Add(id);
                }
                if (timer.ValueNanoseconds == 0) continue;
                WriteTimespec(spec, timer.IntervalNanoseconds);
                WriteTimespec(spec[16..], timer.ValueNanoseconds);
                scratch.Write(SigeventSize + 8, spec);
                sys.Checked($"timer_settime for {what} ({timer.ValueNanoseconds} ns, every {timer.IntervalNanoseconds} ns)",
                    InjectedCalls.TimerSettime, timer.Id, 0, (long)scratch.Address + SigeventSize + 8, 0);
            }
            foreach (int id in spare)
                sys.Checked($"timer_delete({id}) (an id that was free at the checkpoint)", InjectedCalls.TimerDelete, id);
        }
        finally
        {
            if (askForIds) sys.Invoke(InjectedCalls.Prctl, InjectedCalls.PR_TIMER_CREATE_RESTORE_IDS, InjectedCalls.PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
        }
    }

    /// <summary>struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify (4), then the thread id for SIGEV_THREAD_ID.</summary>
    private static void WriteSigevent(RemoteScratch scratch, PosixTimer timer)
    {
        Span<byte> raw = stackalloc byte[SigeventSize];
        raw.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(raw, timer.Value);
        BinaryPrimitives.WriteInt32LittleEndian(raw[8..], (int)timer.Signal);
        BinaryPrimitives.WriteInt32LittleEndian(raw[12..], timer.Notify switch
        {
            PosixTimerNotify.None => SIGEV_NONE,
            PosixTimerNotify.Thread => SIGEV_THREAD_ID,
            _ => SIGEV_SIGNAL,
        });
        BinaryPrimitives.WriteInt32LittleEndian(raw[16..], timer.ThreadId);
        scratch.Write(0, raw);
    }

    private static void WriteTimespec(Span<byte> raw, ulong nanoseconds)
    {
        var time = Native.TimeSpec.FromNanoseconds(nanoseconds);
        BinaryPrimitives.WriteInt64LittleEndian(raw, time.Seconds);
        BinaryPrimitives.WriteInt64LittleEndian(raw[8..], time.Nanoseconds);
    }
}
