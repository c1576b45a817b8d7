using Cryo.Format;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tests.Engine.Support;
using Cryo.Tracing;
using Xunit;
using Xunit.Abstractions;

namespace Cryo.Tests.Engine;

/// <summary>ProcessBirth on the real kernel: a child of this process with a chosen pid.</summary>
public sealed class ProcessBirthTests(ITestOutputHelper output)
{
    [Fact]
    public void Create_GivesTheChosenPid_AsOurTracedChild_SessionLeader_WithoutRseq()
    {
        using var tracer = new Tracer();
        var session = new RestoreSession(tracer, Harness.Header(), new RestoreOptions(Detach: true));
        try
        {
            RestoringProcess? process = null;
            for (int attempt = 0; process is null; attempt++)
            {
                int pid = Harness.FreePid();
                try { process = ProcessBirth.Create(Harness.InfoOf(pid, "/bin/true"), session); }
                catch (PidTakenException) when (attempt < 5) { output.WriteLine($"pid {pid} was taken meanwhile; retrying"); }
            }
            int child = process.Pid;
            var status = ProcStatus.Read(child);
            output.WriteLine($"born pid {child}: {status.Name} state {status.State} ppid {status.ParentPid} tracer {status.TracerPid}");
            Assert.Equal(child, status.Pid);
            Assert.Equal(Environment.ProcessId, status.ParentPid);
            // TracerPid is the tracer thread; it belongs to this process.
            Assert.Equal(Environment.ProcessId, ProcStatus.Parse(File.ReadAllText($"/proc/{Environment.ProcessId}/task/{status.TracerPid}/status")).Tgid);
            var stat = ProcStat.Read(child);
            Assert.Equal(child, stat.Session);
            Assert.Equal(child, stat.ProcessGroup);
            Assert.False(tracer.GetRseqConfiguration(child).Registered);
            Assert.Equal(child, process.Syscalls.Invoke(Cryo.Interop.SyscallNumbers.Getpid));

            // Only the child is left to clean up; the stub is reaped.
            Assert.Equal([child], session.CreatedPids);
            tracer.Kill(child);
        }
        finally
        {
            tracer.Dispose();
            Harness.KillCreated(session);
        }
    }

    [Fact]
    public void Create_WithATakenPid_SaysWhoHasIt_AndLeavesNothingBehind()
    {
        using var tracer = new Tracer();
        var session = new RestoreSession(tracer, Harness.Header(), new RestoreOptions(Detach: true));
        try
        {
            int taken = Environment.ProcessId;
            var error = Assert.Throws<PidTakenException>(() => ProcessBirth.Create(Harness.InfoOf(taken, "/bin/true"), session));
            output.WriteLine(error.Message);
            Assert.Contains($"pid {taken} is taken by", error.Message);
            Assert.Contains($"/proc/{taken}/status", error.Message);
            Assert.Empty(session.CreatedPids);
        }
        finally
        {
            tracer.Dispose();
            Harness.KillCreated(session);
        }
    }
}
