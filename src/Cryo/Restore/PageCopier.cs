using Cryo.Interop;

namespace Cryo.Restore;

/// <summary>
/// Copies large runs of pages into a process with process_vm_writev on two threads at once: the
/// caller's and a helper of the session. Almost all of a restore's time is the kernel faulting in
/// fresh pages of the target, and faults on different pages of one process run in parallel, so
/// two copiers nearly halve it on a machine with two cores (docs/benchmarks.md). Small writes
/// stay on the caller's thread. One instance per restore session (see
/// <see cref="RestoreSession.State{T}"/>); the session disposes it.
/// </summary>
internal sealed class PageCopier : IDisposable
{
    // Below this a hand-off to the helper costs more than it saves.
    private const int SplitAbove = 256 << 10;

    private readonly Thread _helper;
    private readonly SemaphoreSlim _start = new(0), _done = new(0);
    private (int Pid, nint Local, ulong Remote, int Length) _job;
    private long _helperCopied;
    private volatile bool _stopping;

    public PageCopier()
    {
        _helper = new Thread(HelperLoop) { IsBackground = true, Name = "cryo page copier" };
        _helper.Start();
    }

    /// <summary>
    /// Copies <paramref name="length"/> bytes at <paramref name="local"/> to <paramref name="remote"/>
    /// in process <paramref name="pid"/>. Returns how many bytes from the start were copied:
    /// less than <paramref name="length"/> when process_vm_writev stopped early (e.g. at a page
    /// it may not write); the caller then writes the rest another way.
    /// </summary>
    public unsafe long Copy(int pid, byte* local, ulong remote, int length)
    {
        if (length < SplitAbove) return Write(pid, (nint)local, remote, length);
        int firstHalf = length / 2 & ~(Environment.SystemPageSize - 1);
        _job = (pid, (nint)(local + firstHalf), remote + (ulong)firstHalf, length - firstHalf);
        _start.Release();
        var first = Write(pid, (nint)local, remote, firstHalf);
        _done.Wait();
        return first < firstHalf ? first : firstHalf + _helperCopied; // the caller rewrites the rest
    }

    private void HelperLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            var (pid, local, remote, length) = _job;
            _helperCopied = Write(pid, local, remote, length);
            _done.Release();
        }
    }

    private static unsafe long Write(int pid, nint local, ulong remote, int length)
    {
        var localVec = new IoVec((ulong)local, (ulong)length);
        var remoteVec = new IoVec(remote, (ulong)length);
        return Math.Max(0, Native.ProcessVmWritev(pid, &localVec, 1, &remoteVec, 1, 0));
    }

    public void Dispose()
    {
        _stopping = true;
        _start.Release();
        _helper.Join();
        _start.Dispose();
        _done.Dispose();
    }
}
