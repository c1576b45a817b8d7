using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// epoll descriptors (EPOL): the interest list, from fdinfo's "tfd:" lines. Each watch is
/// checked with kcmp(KCMP_EPOLL_TFD) to be the file open at its number now: the kernel keys a
/// watch by file and number, and a program that closed or replaced the number while the file
/// stayed watched (through a dup) has a watch no restore could add again. A restore makes an
/// empty epoll instance in cryo, which <see cref="Files"/> hands over like any description, and
/// adds the watches inside the process (EPOLL_CTL_ADD through the watched numbers) once all its
/// descriptors are in place. A watch whose file is ready reports it again (level-triggered it
/// would anyway; edge-triggered, the program sees one more edge).
/// </summary>
internal static class EventPolls
{
    public static EventPollFile Dump(FrozenProcess process, int fd, FdInfo info)
    {
        string file = $"/proc/{process.Pid}/fdinfo/{fd}";
        var watches = new List<EpollWatch>();
        foreach (var line in info.Lines.Where(l => l.Key == "tfd"))
        {
            // "3 events: 80000019 data: 1234  pos:0 ino:40e sdev:10"
            var words = line.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int events = Array.IndexOf(words, "events:"), data = Array.IndexOf(words, "data:");
            if (events < 0 || data < 0 || events + 1 >= words.Length || data + 1 >= words.Length
                || !int.TryParse(words[0], CultureInfo.InvariantCulture, out int target)
                || !uint.TryParse(words[events + 1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint mask)
                || !ulong.TryParse(words[data + 1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value))
                throw new ProcFormatException(file, $"unexpected epoll line 'tfd: {line.Value}'");
            if (EventPollFile.Problem(mask) is { } why)
                throw new UnsupportedResourceException(process.Pid, $"fd {fd} (epoll)", $"its watch of fd {target} has the event mask 0x{mask:x}, which the image format cannot hold: {why}");
            if (!Native.WatchedFileIsOpenAt(process.Pid, fd, target))
                throw new UnsupportedResourceException(process.Pid, $"fd {fd} (epoll)",
                    $"it watches a file as fd {target}, but that number is closed or holds another file now (a restore could only watch it through its number)");
            watches.Add(new EpollWatch(target, mask, value));
        }
        return new EventPollFile(fd, [.. watches.OrderBy(w => w.TargetFd)]);
    }

    public static int Open(string what) => Native.EpollCreate(what);

    /// <summary>EPOLL_CTL_ADD of every watch, inside the process (the watched numbers are its own).</summary>
    public static void AddWatches(RestoringProcess process, EventPollFile epoll, string what)
    {
        var scratch = process.ScratchFor($"the watches of {what}");
        Span<byte> raw = stackalloc byte[12]; // struct epoll_event, packed on x86-64: u32 events, u64 data
        foreach (var watch in epoll.Watches)
        {
            BitConverter.TryWriteBytes(raw, watch.Events);
            BitConverter.TryWriteBytes(raw[4..], watch.Data);
            scratch.Write(0, raw);
            long result = process.Syscalls.Invoke(InjectedCalls.EpollCtl, epoll.Fd, Native.EPOLL_CTL_ADD, watch.TargetFd, (long)scratch.Address);
            if (result < 0)
                throw new SysCallException("epoll_ctl(EPOLL_CTL_ADD) (injected)", (int)-result,
                    $"pid {process.Pid} {what}: watching fd {watch.TargetFd} for events 0x{watch.Events:x}");
        }
    }
}
