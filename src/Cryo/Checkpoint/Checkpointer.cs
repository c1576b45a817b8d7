using System.Diagnostics;
using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Tracing;

namespace Cryo.Checkpoint;

/// <summary>What a checkpoint did, for the summary line and the STAT item.</summary>
internal sealed record CheckpointReport(int Processes, int Threads, long Bytes, long PageBytes, TimeSpan Frozen, string Phases);

/// <summary>
/// Checkpoints the tree rooted at a pid: freezes every thread (PTRACE_SEIZE + PTRACE_INTERRUPT)
/// before reading anything, plans the whole image (every resource kind reads its state and may
/// refuse), writes it, then kills the tree or lets it run on. Any failure or cancellation before
/// the image is complete detaches every thread with its registers as they were: the target runs
/// on unharmed and no partial file is left behind.
/// </summary>
internal sealed class Checkpointer(Tracer tracer, CheckpointOptions options, Log log)
{
    public CheckpointReport Run(int rootPid, string output, CancellationToken cancel)
    {
        var phases = new PhaseTimer();
        var pids = DiscoverTree(rootPid);
        var frozen = new List<FrozenProcess>();
        var seized = new List<int>();
        var freezeClock = new Stopwatch();
        bool killed = false;
        try
        {
            cancel.ThrowIfCancellationRequested();
            freezeClock.Start();
            foreach (int pid in pids) frozen.Add(Freeze(pid, seized));
            phases.End("freeze");
            log.Info($"froze {frozen.Count} process(es), {seized.Count} thread(s)");

            var session = new DumpSession(options);
            var plan = frozen.Select(p => (Process: p, Resources: Plan(p, session, cancel))).ToList();
            phases.End("plan");

            var (bytes, pageBytes) = Write(output, plan, session, freezeClock, cancel);
            phases.End("write");

            if (options.LeaveRunning) Thaw(seized);
            else
            {
                foreach (var p in frozen) tracer.Kill(p.Pid);
                killed = true;
            }
            freezeClock.Stop();
            phases.End(options.LeaveRunning ? "thaw" : "kill");
            return new CheckpointReport(frozen.Count, seized.Count, bytes, pageBytes, freezeClock.Elapsed, phases.Summary());
        }
        catch when (!killed)
        {
            // Whatever went wrong, the target must run on as it was: give every thread back.
            Thaw(seized);
            throw;
        }
        finally
        {
            foreach (var p in frozen) p.Memory.Dispose();
        }
    }

    /// <summary>The root and (once trees are supported) its descendants, parents first.</summary>
    private static List<int> DiscoverTree(int rootPid)
    {
        if (rootPid == Native.GetPid()) throw new InvalidOperationException("cryo cannot checkpoint itself");
        if (!Directory.Exists($"/proc/{rootPid}")) throw new InvalidOperationException($"no process with pid {rootPid}");
        var stat = ProcStat.Read(rootPid);
        if (stat.State is 'Z' or 'X') throw new InvalidOperationException($"pid {rootPid} is a zombie; there is nothing to checkpoint");
        foreach (int tid in ProcTasks.Read(rootPid))
        {
            string children = File.ReadAllText($"/proc/{rootPid}/task/{tid}/children").Trim();
            if (children.Length > 0)
                throw new UnsupportedResourceException(rootPid, $"child process {children.Split(' ')[0]}",
                    "process trees are not supported yet; checkpoint a process without children");
        }
        return [rootPid];
    }

    /// <summary>Seizes and stops every thread of <paramref name="pid"/>, looping until no new thread appears.</summary>
    private FrozenProcess Freeze(int pid, List<int> seized)
    {
        var threads = new List<FrozenThread>();
        while (true)
        {
            var fresh = ProcTasks.Read(pid).Where(tid => !seized.Contains(tid)).ToList();
            if (fresh.Count == 0) break;
            foreach (int tid in fresh)
            {
                tracer.Seize(tid, PtraceOptions.TraceSysGood);
                seized.Add(tid);
            }
            foreach (int tid in fresh)
            {
                tracer.Interrupt(tid);
                var regs = tracer.GetRegs(tid);
                threads.Add(new FrozenThread(tid, regs, InterruptedSyscall.Normalize(regs)));
            }
        }
        threads.Sort((a, b) => a.Tid == pid ? -1 : b.Tid == pid ? 1 : a.Tid.CompareTo(b.Tid));
        var memory = new RemoteMemory(pid);
        try
        {
            var mappings = ProcMaps.Read(pid);
            var syscalls = new RemoteSyscall(tracer, pid, SyscallSite.FindInVdso(memory, mappings));
            return new FrozenProcess(pid, tracer, memory, mappings, threads, syscalls);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Every resource kind reads its state; a refusal here stops the checkpoint before anything is written.</summary>
    private List<IDumpedResource> Plan(FrozenProcess process, DumpSession session, CancellationToken cancel)
    {
        var resources = new List<IDumpedResource>();
        foreach (var kind in ResourceKinds.DumpOrder)
        {
            cancel.ThrowIfCancellationRequested();
            resources.Add(tracer.Run(() => kind.Dump(process, session)));
        }
        return resources;
    }

    private (long Bytes, long PageBytes) Write(string output, List<(FrozenProcess Process, List<IDumpedResource> Resources)> plan,
        DumpSession session, Stopwatch freezeClock, CancellationToken cancel)
    {
        var header = CheckpointHeader.Create(Native.KernelRelease(), $"cryo {typeof(Checkpointer).Assembly.GetName().Version}",
            (uint)Environment.SystemPageSize);
        using var writer = output == "-"
            ? new CheckpointWriter(new CancellableStream(Console.OpenStandardOutput(), cancel), header)
            : CheckpointWriter.CreateFile(output, header, file => new CancellableStream(file, cancel));
        long estimate = plan.Sum(p => p.Process.Mappings.Sum(m => (long)m.Length));
        using (new ProgressBar("checkpoint", estimate, () => writer.PageBytesWritten))
        {
            foreach (var (process, resources) in plan)
            {
                writer.BeginSection(ItemKinds.Process);
                foreach (var resource in resources) resource.WriteTo(writer);
                writer.EndSection(ItemKinds.Process);
            }
            ResourceKinds.Find<Pipes>().WriteFifoSection(writer, session);
        }
        int threads = plan.Sum(p => p.Process.Threads.Count);
        writer.Write(new CheckpointStats((ulong)freezeClock.Elapsed.Ticks * 100, (ulong)(writer.PageBytesWritten / Environment.SystemPageSize),
            (uint)plan.Count, (uint)threads));
        writer.Complete();
        return (writer.BytesWritten, writer.PageBytesWritten);
    }

    private void Thaw(List<int> seized)
    {
        foreach (int tid in seized)
        {
            try { tracer.Detach(tid); }
            catch (Exception e) when (e is SysCallException or TraceeGoneException or InvalidOperationException)
            {
                log.Warn($"detaching tid {tid}: {e.Message}");
            }
        }
    }
}
