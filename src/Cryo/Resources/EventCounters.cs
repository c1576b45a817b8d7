using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Resources;

/// <summary>
/// eventfd descriptors (EVFD): the counter and the semaphore mode, from fdinfo. A restore makes
/// an eventfd with them in cryo, which <see cref="Files"/> hands over like any description.
/// </summary>
internal static class EventCounters
{
    public static EventCounter Dump(FrozenProcess process, int fd, FdInfo info)
    {
        string what = $"pid {process.Pid} fd {fd} (eventfd)";
        ulong count = ulong.Parse(info.Get("eventfd-count") ?? throw new ProcFormatException($"/proc/{process.Pid}/fdinfo/{fd}", "an eventfd without 'eventfd-count'"),
            NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        bool semaphore = info.Get("eventfd-semaphore") is { } shown ? shown == "1" : ProbeSemaphore(process.Pid, fd, count, what);
        return new EventCounter(fd, count, semaphore ? EventCounter.Semaphore : 0);
    }

    /// <summary>
    /// Older kernels' fdinfo does not show EFD_SEMAPHORE. It shows in what a read returns: on a
    /// copy of the description (pidfd_getfd), add 2 and read; a semaphore gives 1 (one more read
    /// takes the other), a plain counter everything (the count is written back). The counter ends
    /// as it was; a waiter outside the tree could see it move.
    /// </summary>
    internal static unsafe bool ProbeSemaphore(int pid, int fd, ulong count, string what)
    {
        if (count > EventCounter.MaxCount - 2)
            throw new UnsupportedResourceException(pid, $"fd {fd} (eventfd)", "its counter is too close to the maximum to tell whether it is a semaphore (this kernel's fdinfo does not say)");
        int copy = FdTransfer.FromProcess(pid, fd);
        if (copy < 0)
            throw new UnsupportedResourceException(pid, $"fd {fd} (eventfd)", "this kernel's fdinfo does not say whether it is a semaphore, and without pidfd_getfd cryo cannot find out");
        try
        {
            ulong value = 2;
            if (Native.Write(copy, (byte*)&value, 8) != 8) throw new SysCallException("write", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what}: adding 2 to a copy");
            ulong read;
            if (Native.Read(copy, (byte*)&read, 8) != 8) throw new SysCallException("read", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what}: reading a copy");
            if (read == 1)
            {
                if (Native.Read(copy, (byte*)&read, 8) != 8) throw new SysCallException("read", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what}: reading a copy");
                return true;
            }
            if (read != count + 2) throw new InvalidOperationException($"{what}: a read after adding 2 to {count} returned {read}; is another process using it?");
            if (count > 0 && Native.Write(copy, (byte*)&count, 8) != 8)
                throw new SysCallException("write", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what}: writing the count {count} back");
            return false;
        }
        finally { Native.Close(copy); }
    }

    /// <summary>An eventfd in cryo with the image's counter, mode and O_NONBLOCK.</summary>
    public static unsafe int Open(EventCounter state, FileDescriptor fd, string what)
    {
        int flags = (state.IsSemaphore ? Native.EFD_SEMAPHORE : 0) | ((int)fd.OpenFlags & Native.O_NONBLOCK) | Native.O_CLOEXEC;
        int local = Native.Eventfd(flags, what);
        ulong count = state.Count;
        if (count > 0 && Native.Write(local, (byte*)&count, 8) != 8)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            Native.Close(local);
            throw new SysCallException("write", errno, $"{what}: setting the counter to {count}");
        }
        return local;
    }
}
