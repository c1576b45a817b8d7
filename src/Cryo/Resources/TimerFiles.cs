using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Resources;

/// <summary>
/// timerfd descriptors (TMFD): clock, settime flags, unread expirations and setting, from
/// fdinfo. fdinfo shows what remains until the next expiry even for an absolute timer, so an
/// absolute one is stored as the clock's time now plus that (a relative one keeps what remained:
/// the time between checkpoint and restore does not count, as with ITMR). A restore makes the
/// timer in cryo, sets it, and sets the unread expirations with TFD_IOC_SET_TICKS (a settime
/// clears them); <see cref="Files"/> hands it over like any description.
/// </summary>
internal static class TimerFiles
{
    public static TimerFile Dump(FrozenProcess process, int fd, FdInfo info)
    {
        string file = $"/proc/{process.Pid}/fdinfo/{fd}";
        string Required(string key) => info.Get(key) ?? throw new ProcFormatException(file, $"a timerfd without '{key}'");
        int clock = int.Parse(Required("clockid"), CultureInfo.InvariantCulture);
        if (!TimerFile.Clocks.Contains(clock)) throw new ProcFormatException(file, $"clockid {clock} is not a timerfd clock");
        uint flags = Convert.ToUInt32(Required("settime flags"), 8) & (TimerFile.Absolute | TimerFile.CancelOnSet);
        ulong ticks = ulong.Parse(Required("ticks"), CultureInfo.InvariantCulture);
        ulong remaining = Nanoseconds(Required("it_value"), file);
        ulong interval = Nanoseconds(Required("it_interval"), file);
        // A disarmed timer shows it_value (0, 0); so may a periodic one due this very moment: 1 ns to go.
        if (remaining == 0 && interval != 0) remaining = 1;
        ulong value = remaining == 0 ? 0 : (flags & TimerFile.Absolute) != 0 ? Native.ClockNanoseconds(clock) + remaining : remaining;
        // A disarmed timer keeps its flags: with TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET on a
        // realtime clock it still wakes its reader with ECANCELED when the clock is set.
        return new TimerFile(fd, clock, flags, ticks, value, value == 0 ? 0 : interval);
    }

    /// <summary>"(seconds, nanoseconds)" as fdinfo prints a timespec.</summary>
    private static ulong Nanoseconds(string text, string file)
    {
        var parts = text.Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !ulong.TryParse(parts[0], CultureInfo.InvariantCulture, out ulong seconds)
            || !ulong.TryParse(parts[1], CultureInfo.InvariantCulture, out ulong nanoseconds))
            throw new ProcFormatException(file, $"'{text}' is not a timespec");
        return seconds * (ulong)Native.TimeSpec.NanosecondsPerSecond + nanoseconds;
    }

    public static unsafe int Open(TimerFile state, FileDescriptor fd, string what)
    {
        int local = Native.TimerfdCreate(state.ClockId, ((int)fd.OpenFlags & Native.O_NONBLOCK) | Native.O_CLOEXEC, what);
        try
        {
            if (state.ValueNanoseconds != 0 || state.Flags != 0)
                Native.TimerfdSettime(local, (int)state.Flags, new Native.TimerSpec
                {
                    Value = Native.TimeSpec.FromNanoseconds(state.ValueNanoseconds),
                    Interval = Native.TimeSpec.FromNanoseconds(state.IntervalNanoseconds),
                }, $"{what}: setting it to {state.ValueNanoseconds} ns, every {state.IntervalNanoseconds} ns");
            if (state.Ticks > 0)
            {
                ulong ticks = state.Ticks;
                if (Native.Ioctl(local, Native.TFD_IOC_SET_TICKS, &ticks) != 0)
                    throw new SysCallException("ioctl(TFD_IOC_SET_TICKS)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(),
                        $"{what}: restoring {ticks} unread expirations (needs a kernel built with CONFIG_CHECKPOINT_RESTORE)");
            }
            return local;
        }
        catch
        {
            Native.Close(local);
            throw;
        }
    }
}
