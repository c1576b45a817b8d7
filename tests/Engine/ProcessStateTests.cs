using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Restore;
using Cryo.Tests.Engine.Support;
using Xunit;
using SignalNames = Cryo.Interop.Signals;

namespace Cryo.Tests.Engine;

/// <summary>Signals, Limits and ProcessIdentity: dumped from a stub with known state, restored into a fresh stub.</summary>
public sealed class ProcessStateTests(ResourcePrograms programs) : IClassFixture<ResourcePrograms>
{
    private static readonly DumpSession Session = new(new CheckpointOptions(true, PipeDumpStrategy.Tee));
    private const int SigRtMin1 = 35; // glibc's SIGRTMIN is 34

    private static List<CheckpointItem> Dump<T>(FrozenRun run) where T : IResourceKind => run.Dump<T>(Session);

    private static void RestoreAndFinish<T>(FrozenRun run, RestoringProcess process, IEnumerable<CheckpointItem> items) where T : IResourceKind =>
        run.RestoreAndFinish<T>(process, items);

    [Fact]
    public void Signals_HandlersAndPendingQueues_SurviveARestoreIntoAFreshStub()
    {
        using var source = FrozenRun.StartStub(programs, "state");
        var items = Dump<Signals>(source);
        var handlers = Assert.IsType<SignalHandlers>(items[0]);
        var shared = Assert.IsType<PendingSignals>(items[1]);
        var usr1 = handlers.Actions.Single(a => a.Signal == SignalNames.SIGUSR1);
        Assert.Equal(0x04000000UL | 0x10000000UL | 0x4UL, usr1.Flags); // SA_RESTORER | SA_RESTART | SA_SIGINFO
        Assert.Equal(SignalNames.Bit(SignalNames.SIGUSR2), usr1.Mask);
        Assert.Equal(1UL, handlers.Actions.Single(a => a.Signal == SignalNames.SIGUSR2).Handler);
        Assert.Equal([SignalNames.SIGUSR1, SigRtMin1], shared.Signals.Select(s => s.Signal).Order());
        Assert.Equal(0, shared.Signals.Single(s => s.Signal == SignalNames.SIGUSR1).Code);       // SI_USER
        var queued = shared.Signals.Single(s => s.Signal == SigRtMin1);
        Assert.Equal(-1, queued.Code);                                                          // SI_QUEUE
        Assert.Equal(42, BitConverter.ToInt32(queued.Data, 24 - 12));                           // si_value
        var own = ResourceKinds.Find<Signals>().DumpThreadPending(source.Frozen(), source.Frozen().Threads[0]);
        Assert.Equal(SignalQueue.Thread, own.Queue);
        Assert.Equal(-6, Assert.Single(own.Signals).Code);                                       // SI_TKILL

        using var target = FrozenRun.StartStub(programs, "plain");
        var process = target.Restoring();
        process.CurrentThread = new ThreadInfo(target.Pid, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, SyscallRestart.None, []);
        RestoreAndFinish<Signals>(target, process, [handlers, shared, own]);

        var before = ProcStatus.Read(source.Pid);
        var after = ProcStatus.Read(target.Pid);
        Assert.Equal(before.SigCaught, after.SigCaught);
        Assert.Equal(before.SigIgnored, after.SigIgnored);
        Assert.Equal(before.SharedSigPending, after.SharedSigPending);
        Assert.Equal(before.SigPending, after.SigPending);
        var restored = target.Tracer.PeekPendingSignals(target.Pid, shared: true);
        Assert.Equal(shared.Signals.Select(s => (s.Signal, s.Code, Convert.ToHexString(s.Data))),
            restored.Select(s => (s.Signal, s.Code, Convert.ToHexString(s.Raw.AsSpan(12).ToArray()))));
        var restoredOwn = target.Tracer.PeekPendingSignals(target.Pid, shared: false);
        Assert.Equal(own.Signals.Select(s => (s.Signal, s.Code, Convert.ToHexString(s.Data))),
            restoredOwn.Select(s => (s.Signal, s.Code, Convert.ToHexString(s.Raw.AsSpan(12).ToArray()))));
        // The restored disposition is the recorded one, flags and mask included (the handler
        // address is the source's: both stubs are the same PIE binary at different addresses).
        var redumped = Assert.IsType<SignalHandlers>(Dump<Signals>(target)[0]);
        Assert.Equal(handlers.Actions, redumped.Actions);
    }

    [Fact]
    public void Limits_AreReadFromProc_AndLoweredInsideTheProcess_RaisingAHardLimitNamesTheResource()
    {
        using var source = FrozenRun.StartStub(programs, "state");
        var limits = Assert.IsType<ResourceLimits>(Assert.Single(Dump<Limits>(source)));
        Assert.Equal(16, limits.Limits.Length);
        Assert.Equal(new Format.ResourceLimit(7, 512, 4096), limits.Limits[7]);
        Assert.Equal(new Format.ResourceLimit(4, 0, 0), limits.Limits[4]);

        using var target = FrozenRun.StartStub(programs, "plain");
        RestoreAndFinish<Limits>(target, target.Restoring(), [limits]);
        Assert.Equal(ProcLimits.Read(source.Pid).Select(l => (l.Soft, l.Hard)), ProcLimits.Read(target.Pid).Select(l => (l.Soft, l.Hard)));

        // The target's hard RLIMIT_NOFILE is now 4096: raising it needs CAP_SYS_RESOURCE.
        var raise = new ResourceLimits([.. limits.Limits.Select(l => l.Resource == 7 ? l with { Hard = 8192 } : l)]);
        var e = Assert.ThrowsAny<Exception>(() => RestoreAndFinish<Limits>(target, target.Restoring(), [raise]));
        Assert.Contains("RLIMIT_NOFILE", e.Message, StringComparison.Ordinal);
        Assert.Contains($"pid {target.Pid}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_IsDumped_AndCommCwdUmaskAndCredentialsAreRestored()
    {
        using var source = FrozenRun.StartStub(programs, "state");
        var items = Dump<ProcessIdentity>(source);
        var info = Assert.IsType<ProcessInfo>(items[0]);
        var creds = Assert.IsType<Credentials>(items[1]);
        var stat = ProcStat.Read(source.Pid);
        Assert.Equal((source.Pid, stat.ParentPid, stat.ProcessGroup, stat.Session), (info.Pid, info.ParentPid, info.ProcessGroupId, info.SessionId));
        Assert.Equal("cryo-state", Encoding.UTF8.GetString(info.Comm));
        Assert.Equal("/tmp", Encoding.UTF8.GetString(info.Cwd));
        Assert.Equal("/", Encoding.UTF8.GetString(info.Root));
        Assert.Equal(programs.Stub, Encoding.UTF8.GetString(info.ExePath));
        Assert.Equal(0x17u, info.Umask);
        Assert.Equal(1, info.Dumpable);
        Assert.Equal(1u, info.ThreadCount);
        Assert.Equal(0u, creds.EffectiveUid);

        using var target = FrozenRun.StartStub(programs, "plain");
        // Drop to nobody with no capabilities, as a non-root program would have been recorded.
        var nobody = creds with
        {
            RealUid = 65534, EffectiveUid = 65534, SavedUid = 65534, FsUid = 65534,
            RealGid = 65534, EffectiveGid = 65534, SavedGid = 65534, FsGid = 65534,
            CapInheritable = 0, CapPermitted = 0, CapEffective = 0, CapAmbient = 0, Groups = [65534],
        };
        RestoreAndFinish<ProcessIdentity>(target, target.Restoring(), [info, nobody]);
        var status = ProcStatus.Read(target.Pid);
        Assert.Equal("cryo-state", File.ReadAllText($"/proc/{target.Pid}/comm").Trim());
        Assert.Equal("/tmp", new DirectoryInfo($"/proc/{target.Pid}/cwd").LinkTarget);
        Assert.Equal(0x17, status.Umask);
        Assert.Equal([65534, 65534, 65534, 65534], status.Uids.ToArray());
        Assert.Equal([65534, 65534, 65534, 65534], status.Gids.ToArray());
        Assert.Equal("65534", status.Fields["Groups"]);
        Assert.Equal(0UL, status.CapEffective);
        Assert.Equal(0UL, status.CapPermitted);
    }
}
