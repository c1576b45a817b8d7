using System.Diagnostics;
using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Tracing;

namespace Cryo.Checkpoint;

/// <summary>
/// A copy-on-write copy of a frozen process's memory, so that a --leave-running checkpoint can
/// let the process run on before its pages are written: the frozen process forks (one injected
/// clone, the way a database saves a snapshot in the background), the child never runs, and the
/// pages are read from the child while the process goes on. The freeze then lasts for the
/// fork (about 40 ms for 2 GiB here) rather than for the copy of every page.
/// <para>What the child cannot give is read while the process is still frozen: shared memory
/// (the child shares it with the running process) and MADV_DONTFORK and MADV_WIPEONFORK areas
/// (the child lacks them or has them zeroed); above <see cref="MaxReadAhead"/> of those, no
/// snapshot is taken. The price is paid by the process afterwards: a page it writes while the
/// child lives is copied (memory for both), and its first write to each page after the fork
/// takes a page fault (about 1 µs per 4 KiB page here). `--no-snapshot` avoids both, with a
/// freeze as long as the copy. See docs/engine-memory.md.</para>
/// <para>The child has exit signal 0: its end sends the process no SIGCHLD, and wait() without
/// __WCLONE or __WALL does not see it. It inherits PTRACE_O_EXITKILL, so it dies with cryo.
/// <see cref="Release"/> kills it and has the process reap it (one injected wait4).</para>
/// </summary>
internal sealed class ForkSnapshot
{
    /// <summary>Stored bytes the process may have that a snapshot cannot give (read while frozen, held in memory).</summary>
    internal const long MaxReadAhead = 64 << 20;

    private readonly FrozenProcess process;
    private readonly RemoteMemory memory;
    // Starts of the areas whose pages the child does not have as the process had them.
    private readonly HashSet<ulong> notCopied = [];

    private ForkSnapshot(FrozenProcess process, int child)
    {
        this.process = process;
        Child = child;
        memory = new RemoteMemory(child);
    }

    /// <summary>The pid of the copy.</summary>
    public int Child { get; }

    /// <summary>
    /// Forks the frozen <paramref name="process"/>, whose pages are planned in
    /// <paramref name="pages"/>; or returns null, saying why in the log, when the process cannot
    /// or should not be forked: then its pages are copied while it stays frozen.
    /// </summary>
    public static ForkSnapshot? TryTake(FrozenProcess process, Memory.DumpedMemory pages, Log log)
    {
        int pid = process.Pid;
        if (ReadAhead(pages, area => !IsShared(area)) is var shared and > MaxReadAhead)
        {
            log.Info($"no snapshot of pid {pid}: {shared >> 20} MiB of its memory is shared, and would have to be read while it is frozen");
            return null;
        }

        var clock = Stopwatch.StartNew();
        var tracer = process.Tracer;
        ForkResult fork;
        // The child inherits its parent's ptrace options: with EXITKILL it dies with cryo rather
        // than run on as a second copy of the program. The parent has it only for this call (if
        // cryo died meanwhile, the parent would die too; it would not survive its registers being
        // borrowed in any injection). Clone flags 0: a new process, exit signal 0.
        tracer.SetOptions(pid, PtraceOptions.TraceSysGood | PtraceOptions.TraceClone | PtraceOptions.ExitKill);
        try
        {
            fork = tracer.InjectForkingSyscall(pid, process.Syscalls.SyscallInstruction, new SyscallRequest(SyscallNumbers.Clone));
        }
        catch (SyscallFilteredException e)
        {
            log.Info($"no snapshot of pid {pid}: {e.Message}");
            return null;
        }
        finally
        {
            tracer.SetOptions(pid, PtraceOptions.TraceSysGood);
        }
        if (fork.Result < 0)
        {
            log.Info($"no snapshot of pid {pid}: the injected clone failed with {ErrnoNames.Name((int)-fork.Result)}");
            return null;
        }
        var snapshot = new ForkSnapshot(process, fork.Child);
        try
        {
            using (var childPages = new PagemapReader(fork.Child, Environment.SystemPageSize))
            {
                foreach (var area in pages.StoredAreas)
                    if (IsShared(area) || !FirstStoredPageIsIn(childPages, area)) snapshot.notCopied.Add(area.Start);
            }
            if (ReadAhead(pages, snapshot.CopiedByFork) is var excluded and > MaxReadAhead)
            {
                log.Info($"no snapshot of pid {pid}: {excluded >> 20} MiB of its memory is shared or not copied by fork (MADV_DONTFORK, MADV_WIPEONFORK), " +
                    "and would have to be read while it is frozen");
                snapshot.Release(parentFrozen: true, log);
                return null;
            }
            log.Info($"snapshot of pid {pid} is pid {fork.Child}: forked in {clock.Elapsed.TotalMilliseconds:F1} ms");
            return snapshot;
        }
        catch
        {
            snapshot.Release(parentFrozen: true, log);
            throw;
        }
    }

    /// <summary>
    /// Points <paramref name="pages"/> (the process's, as planned) at the copy, while the process
    /// is still frozen: what the copy lacks is read now.
    /// </summary>
    public void Attach(Memory.DumpedMemory pages, Log log)
    {
        long early = pages.ReadFromSnapshot(memory, CopiedByFork);
        if (early > 0) log.Info($"{early >> 10} KiB of shared or fork-excluded memory of pid {process.Pid} read while frozen");
    }

    private bool CopiedByFork(MemoryArea area) => !notCopied.Contains(area.Start);

    private static bool IsShared(MemoryArea area) => (area.MapFlags & MemoryArea.MapShared) != 0;

    /// <summary>Bytes of the stored pages of the areas <paramref name="fromSnapshot"/> rejects.</summary>
    private static long ReadAhead(Memory.DumpedMemory pages, Func<MemoryArea, bool> fromSnapshot) =>
        pages.StoredAreas.Where(a => !fromSnapshot(a)).Sum(a => (long)a.StoredPages) * Environment.SystemPageSize;

    /// <summary>
    /// Whether fork gave the child this private area's pages. fork copies the page table entries
    /// of every area with anonymous pages, except MADV_WIPEONFORK areas (the child gets them
    /// empty) and MADV_DONTFORK ones (the child does not get them at all); such flags are per
    /// area, so one page tells: the area's first stored page, present or swapped in the parent
    /// at the freeze, is present or swapped in the child too unless the area is one of those.
    /// (/proc/PID/smaps shows the flags, but reading it walks every page: 26 ms for 2 GiB.)
    /// </summary>
    private static bool FirstStoredPageIsIn(PagemapReader child, MemoryArea area)
    {
        Span<PagemapEntry> entry = stackalloc PagemapEntry[1];
        child.Read(area.Start + area.Runs[0].FirstPage * (ulong)child.PageSize, entry);
        return entry[0].Present || entry[0].Swapped;
    }

    /// <summary>
    /// Kills the copy and has the process reap it: at once if it is still frozen, else by
    /// stopping its main thread again for one injected wait4. Never throws: a copy that cannot be
    /// reaped is left as a zombie (logged), which the process's exit clears.
    /// </summary>
    public void Release(bool parentFrozen, Log log)
    {
        var tracer = process.Tracer;
        int pid = process.Pid;
        memory.Dispose();
        try
        {
            tracer.KillGroup(Child, [Child]);
        }
        catch (Exception e) when (e is SysCallException or TraceeGoneException)
        {
            log.Warn($"killing the snapshot {Child} of pid {pid}: {e.Message}");
        }
        bool seized = false;
        try
        {
            if (!parentFrozen)
            {
                tracer.Seize(pid);
                seized = true;
                tracer.Interrupt(pid);
            }
            long reaped = process.Syscalls.Reap(Child);
            if (reaped != Child) log.Warn($"the snapshot {Child} of pid {pid} was not reaped (wait4: {reaped})");
        }
        catch (Exception e) when (e is SysCallException or TraceeGoneException or UnexpectedStopException or InvalidOperationException)
        {
            // Gone meanwhile: its children, the snapshot among them, went to init (or a subreaper).
            log.Info($"the snapshot {Child} of pid {pid} was not reaped by it: {e.Message}");
        }
        finally
        {
            if (seized)
            {
                try { tracer.Detach(pid); }
                catch (Exception e) when (e is SysCallException or TraceeGoneException or InvalidOperationException)
                {
                    log.Warn($"detaching pid {pid} after reaping its snapshot: {e.Message}");
                }
            }
        }
    }
}
