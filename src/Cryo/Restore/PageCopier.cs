using Cryo.Interop;

namespace Cryo.Restore;

/// <summary>
/// Copies large runs of pages into a process (UFFDIO_COPY or process_vm_writev) on two threads at once: the
/// caller's and a helper of the session. Almost all of a restore's time is the kernel faulting in
/// fresh pages of the target, and faults on different pages of one process run in parallel.
/// The run is cut into chunks that both threads take from a shared counter, so a helper that
/// the scheduler keeps waiting (a busy machine) costs nothing: the caller copies every chunk
/// itself and closes the job, and a helper that wakes up late finds it closed. Small writes stay
/// on the caller's thread. One instance per restore session (see
/// <see cref="RestoreSession.State{T}"/>); the session disposes it.
/// </summary>
internal sealed class PageCopier : IDisposable
{
    // Below this a hand-off to the helper costs more than it saves.
    private const int SplitAbove = 256 << 10;
    private const int Chunk = 128 << 10;

    // Job states: the helper may join an open job; once the caller has closed it, it may not.
    private const int Open = 0, Joined = 1, Closed = 2;

    private Thread? _helper; // started at the first large copy: small images never need it
    private readonly SemaphoreSlim _start = new(0), _done = new(0);
    private int _state = Closed;
    private volatile bool _stopping;
    private (int Pid, int Uffd, nint Local, ulong Remote, int Length) _job;
    private int _nextChunk;
    private long _firstShort; // offset of the first byte a chunk could not copy; the job length if none

    /// <summary>
    /// Copies <paramref name="length"/> bytes at <paramref name="local"/> to <paramref name="remote"/>
    /// in process <paramref name="pid"/>: with UFFDIO_COPY through <paramref name="uffd"/> when it
    /// is not -1 (a range registered by <see cref="UffdFill"/>), else with process_vm_writev.
    /// Returns how many bytes from the start were certainly copied: less than
    /// <paramref name="length"/> when the kernel stopped early (e.g. at a page it may not write);
    /// the caller then writes the rest another way.
    /// </summary>
    public unsafe long Copy(int pid, int uffd, byte* local, ulong remote, int length)
    {
        if (length < SplitAbove) return Write(pid, uffd, (nint)local, remote, length);
        if (_helper is null)
        {
            _helper = new Thread(HelperLoop) { IsBackground = true, Name = "cryo page copier" };
            _helper.Start();
        }
        _job = (pid, uffd, (nint)local, remote, length);
        _nextChunk = 0;
        _firstShort = length;
        Volatile.Write(ref _state, Open);
        _start.Release();
        CopyChunks();
        if (Interlocked.CompareExchange(ref _state, Closed, Open) != Open)
        {
            _done.Wait(); // the helper joined: wait until it has finished its chunks
            Volatile.Write(ref _state, Closed);
        }
        return Interlocked.Read(ref _firstShort);
    }

    /// <summary>Takes chunks until none is left; records the lowest offset a chunk fell short at.</summary>
    private void CopyChunks()
    {
        var (pid, uffd, local, remote, length) = _job;
        int chunks = (length + Chunk - 1) / Chunk;
        for (int i = Interlocked.Increment(ref _nextChunk) - 1; i < chunks; i = Interlocked.Increment(ref _nextChunk) - 1)
        {
            int offset = i * Chunk, size = Math.Min(Chunk, length - offset);
            long copied = Write(pid, uffd, local + offset, remote + (ulong)offset, size);
            if (copied < size)
            {
                long shortAt = offset + copied, seen;
                while (shortAt < (seen = Interlocked.Read(ref _firstShort)) && Interlocked.CompareExchange(ref _firstShort, shortAt, seen) != seen) { }
            }
        }
    }

    private void HelperLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            if (Interlocked.CompareExchange(ref _state, Joined, Open) != Open) continue; // closed before this wake-up
            CopyChunks();
            _done.Release();
        }
    }

    private static unsafe long Write(int pid, int uffd, nint local, ulong remote, int length)
    {
        if (uffd >= 0) return UffdFill.Copy(uffd, local, remote, length);
        var localVec = new IoVec((ulong)local, (ulong)length);
        var remoteVec = new IoVec(remote, (ulong)length);
        return Math.Max(0, Native.ProcessVmWritev(pid, &localVec, 1, &remoteVec, 1, 0));
    }

    public void Dispose()
    {
        _stopping = true;
        _start.Release();
        _helper?.Join();
        _start.Dispose();
        _done.Dispose();
    }
}
