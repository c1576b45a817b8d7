using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Resources;

/// <summary>
/// signalfd descriptors (SGFD): the mask of signals the file accepts, from fdinfo. The signals
/// themselves are the reader's pending signals (Signals). A restore makes a signalfd with the mask
/// in cryo, which <see cref="Files"/> hands over like any description: a signalfd reads the
/// signals of whoever reads it, not of whoever made it.
/// </summary>
internal static class SignalQueueFiles
{
    public static SignalQueueFile Dump(FrozenProcess process, int fd, FdInfo info)
    {
        string mask = info.Get("sigmask") ?? throw new ProcFormatException($"/proc/{process.Pid}/fdinfo/{fd}", "a signalfd without 'sigmask'");
        return new SignalQueueFile(fd, ulong.Parse(mask, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture) & ~SignalQueueFile.Unaccepted);
    }

    public static int Open(SignalQueueFile state, FileDescriptor fd, string what) =>
        Native.Signalfd(state.Mask, ((int)fd.OpenFlags & Native.O_NONBLOCK) | Native.O_CLOEXEC, what);
}
