using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;

namespace Cryo.Checkpoint;

/// <summary>
/// Reserves the image file's space before a --leave-running checkpoint freezes its target, so
/// that the frozen window holds only the copy of the process. A full file system is found
/// before the target is touched. On tmpfs the image is memory, and a fresh page costs most at
/// its first touch (zeroing it, and on a machine that hands freed memory back to its host, the
/// host's fault): 2 GiB of first touches take 1.3–4 s here, the copy into touched pages 0.4 s
/// (docs/benchmarks.md). So there the pages are allocated by touching them, on every core,
/// before the freeze (fallocate would allocate them one at a time under the inode lock, and
/// leave them untouched). Elsewhere, and where that cannot be done, fallocate reserves the
/// space. What is reserved but not written is given back when the writer completes.
/// </summary>
internal static class ImageReservation
{
    // Pages touched per madvise call: small enough to share among the threads evenly.
    private const long TouchPiece = 64 << 20;

    // Below this, threads and a mapping cost more than the first touches they move (a `sleep` image is about 100 KiB).
    private const long TouchAbove = 4 << 20;

    public static void Reserve(CheckpointWriter writer, int rootPid, Log log)
    {
        if (writer.FileHandle is not { } handle) return; // a stream: nothing to reserve
        long estimate = writer.BytesWritten + TreeWalk.PreOrder(rootPid).Sum(StoredBytesEstimate);
        string what = $"{estimate >> 20} MiB for the image of pid {rootPid}";
        if (estimate >= TouchAbove && Native.FileSystemType((int)handle.DangerousGetHandle()) == Native.TMPFS_MAGIC && Touch(handle, estimate, what, log))
            return;
        if (Native.Fallocate(handle, 0, 0, estimate) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ErrnoNames.ENOSPC or ErrnoNames.EDQUOT or ErrnoNames.EFBIG)
                throw new InvalidOperationException($"cannot reserve {what}: {ErrnoNames.Name(errno)}; nothing was frozen");
            log.Info($"the file system does not reserve space ({ErrnoNames.Name(errno)}); the image is allocated as it is written");
            return;
        }
        log.Info($"reserved {estimate >> 20} MiB for the image before freezing");
    }

    /// <summary>
    /// Allocates a tmpfs image's pages by touching them (MADV_POPULATE_WRITE through a shared
    /// mapping of the file grown to <paramref name="length"/>, which zeroes them) on as many
    /// threads as there are cores. A tmpfs too small fails the fault, which madvise reports as
    /// EFAULT. False when it cannot be done (no MADV_POPULATE_WRITE before 5.14, no mapping):
    /// then the caller reserves with fallocate.
    /// </summary>
    private static bool Touch(SafeFileHandle handle, long length, string what, Log log)
    {
        int fd = (int)handle.DangerousGetHandle();
        if (Native.Ftruncate(fd, length) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ErrnoNames.EFBIG) throw new InvalidOperationException($"cannot reserve {what}: EFBIG; nothing was frozen");
            log.Info($"the image was not grown to be touched ({ErrnoNames.Name(errno)})");
            return false;
        }
        nint mapped = Native.Mmap(0, (nuint)length, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, fd, 0);
        if (mapped == -1)
        {
            log.Info($"the image is not mapped to be touched ({ErrnoNames.Name(Marshal.GetLastPInvokeError())})");
            return false;
        }
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int failure = 0;
            long pieces = (length + TouchPiece - 1) / TouchPiece;
            Parallel.For(0L, pieces, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, (piece, state) =>
            {
                long start = piece * TouchPiece, size = Math.Min(TouchPiece, length - start);
                if (Native.Madvise(mapped + (nint)start, (nuint)size, Native.MADV_POPULATE_WRITE) == 0) return;
                Interlocked.CompareExchange(ref failure, Marshal.GetLastPInvokeError(), 0);
                state.Stop();
            });
            if (failure == ErrnoNames.EFAULT) // the fault would have raised SIGBUS: the tmpfs is full
                throw new InvalidOperationException($"cannot reserve {what}: ENOSPC; nothing was frozen");
            if (failure != 0)
            {
                log.Info($"the image was not touched (MADV_POPULATE_WRITE: {ErrnoNames.Name(failure)}); reserving it instead");
                return false;
            }
            log.Info($"touched the {length >> 20} MiB reserved on tmpfs in {clock.ElapsedMilliseconds} ms");
            return true;
        }
        finally
        {
            Native.Munmap(mapped, (nuint)length);
        }
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
