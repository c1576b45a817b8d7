using System.Globalization;
using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;

namespace Cryo.Checkpoint;

/// <summary>
/// Reserves the image file's space before a --leave-running checkpoint freezes its target. On
/// tmpfs (and on a machine that hands freed memory back to its host) a fresh page of the file
/// costs as much as the copy into it; allocated beforehand, the frozen window holds only the
/// copy. A full file system is found before the target is touched. What is reserved but not
/// written is given back when the writer completes.
/// </summary>
internal static class ImageReservation
{
    public static void Reserve(CheckpointWriter writer, int rootPid, Log log)
    {
        if (writer.FileHandle is not { } handle) return; // a stream: nothing to reserve
        long estimate = writer.BytesWritten + TreeWalk.PreOrder(rootPid).Sum(StoredBytesEstimate);
        if (Native.Fallocate(handle, 0, 0, estimate) == 0)
        {
            log.Info($"reserved {estimate >> 20} MiB for the image before freezing");
            return;
        }
        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno is ErrnoNames.ENOSPC or ErrnoNames.EDQUOT or ErrnoNames.EFBIG)
            throw new InvalidOperationException(
                $"cannot reserve {estimate >> 20} MiB for the image of pid {rootPid}: {ErrnoNames.Name(errno)}; nothing was frozen");
        log.Info($"the file system does not reserve space ({ErrnoNames.Name(errno)}); the image is allocated as it is written");
    }

    /// <summary>
    /// The pages a checkpoint stores, as /proc/PID/smaps_rollup counts them before the freeze:
    /// anonymous pages (copied private file pages among them) and shared memory. 0 when the
    /// process is gone or unreadable: the reservation is an estimate, the image is right either way.
    /// </summary>
    private static long StoredBytesEstimate(int pid)
    {
        long total = 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
                if (line.StartsWith("Anonymous:", StringComparison.Ordinal) || line.StartsWith("Pss_Shmem:", StringComparison.Ordinal))
                    total += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) << 10;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return total;
    }
}
