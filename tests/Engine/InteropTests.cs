using System.Runtime.InteropServices;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Tests.Engine.Support;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>Bindings, errno mapping and posix_spawn.</summary>
public sealed class InteropTests(TargetProgram program) : IClassFixture<TargetProgram>
{
    [Fact]
    public void ErrnoNames_CoverTheTable()
    {
        Assert.Equal("EPERM", ErrnoNames.Name(1));
        Assert.Equal("ENOSYS", ErrnoNames.Name(38));
        Assert.Equal("EOVERFLOW", ErrnoNames.Name(75));
        Assert.Equal("EHWPOISON", ErrnoNames.Name(133));
        Assert.Equal("ERESTART_RESTARTBLOCK", ErrnoNames.Name(516));
        Assert.Equal("errno 9999", ErrnoNames.Name(9999));
    }

    [Fact]
    public void FailedCall_BecomesSysCallException_WithNameErrnoAndContext()
    {
        int noSuchPid = int.MaxValue - 7;
        Assert.Equal(-1, Native.Kill(noSuchPid, 0));
        var failure = new SysCallException("kill", Marshal.GetLastPInvokeError(), $"pid {noSuchPid}");
        Assert.Equal(ErrnoNames.ESRCH, failure.Errno);
        Assert.Equal($"kill failed on pid {noSuchPid}: ESRCH (No such process)", failure.Message);

        var open = Assert.Throws<SysCallException>(() => Native.OpenOrThrow("/nonexistent/cryo", Native.O_RDONLY));
        Assert.Equal("ENOENT", open.ErrnoName);
        Assert.Contains("/nonexistent/cryo", open.Message);
    }

    [Fact]
    public void Pidfd_GetFd_CopiesAnFdOfAnotherProcess()
    {
        using var target = Target.Start(program, "pause");
        int pidfd = Native.PidfdOpen(target.Pid);
        try
        {
            // The target's stdout is the log file.
            int copy = Native.PidfdGetFd(pidfd, 1);
            try
            {
                Assert.Equal(target.LogFile, File.ResolveLinkTarget($"/proc/self/fd/{copy}", false)!.FullName);
                Assert.NotEqual(0, ProcFdInfo.Read(Environment.ProcessId, copy).Flags & Native.O_CLOEXEC);
            }
            finally { Native.Close(copy); }
            var failure = Assert.Throws<SysCallException>(() => Native.PidfdGetFd(pidfd, 999));
            Assert.Equal("EBADF", failure.ErrnoName);
        }
        finally { Native.Close(pidfd); }
    }

    [Fact]
    public unsafe void Tee_DuplicatesPipeDataWithoutConsumingIt()
    {
        int* source = stackalloc int[2];
        int* copy = stackalloc int[2];
        Assert.Equal(0, Native.Pipe2(source, Native.O_CLOEXEC));
        Assert.Equal(0, Native.Pipe2(copy, Native.O_CLOEXEC));
        try
        {
            var message = "pipe data"u8;
            fixed (byte* data = message) Assert.Equal(message.Length, (int)Native.Write(source[1], data, (nuint)message.Length));
            Assert.Equal(message.Length, (int)Native.Tee(source[0], copy[1], 65536, 0));
            Assert.Equal(65536, Native.Fcntl(source[0], Native.F_GETPIPE_SZ, 0));
            var buffer = new byte[64];
            fixed (byte* b = buffer)
            {
                Assert.Equal(message.Length, (int)Native.Read(copy[0], b, 64));
                Assert.Equal(message.Length, (int)Native.Read(source[0], b, 64)); // still there
            }
            Assert.Equal("pipe data", System.Text.Encoding.ASCII.GetString(buffer, 0, message.Length));
        }
        finally
        {
            for (int i = 0; i < 2; i++) { Native.Close(source[i]); Native.Close(copy[i]); }
        }
    }

    [Fact]
    public void PosixSpawn_ChildHasDefaultSignalsEmptyMaskDevNullStdinAndOwnSession()
    {
        using var target = Target.Start(program, "pause");
        var status = ProcStatus.Read(target.Pid);
        Assert.Equal(0UL, status.SigBlocked);
        // Nothing inherited from .NET (which ignores SIGPIPE); only glibc's internal 32/33 may differ.
        Assert.Equal(0UL, status.SigIgnored & ~(Signals.Bit(32) | Signals.Bit(33)));
        Assert.Equal(Signals.Bit(Signals.SIGTERM), status.SigCaught & Signals.Bit(Signals.SIGTERM));
        Assert.Equal("/dev/null", File.ResolveLinkTarget($"/proc/{target.Pid}/fd/0", false)!.FullName);
        Assert.Equal(target.LogFile, File.ResolveLinkTarget($"/proc/{target.Pid}/fd/2", false)!.FullName);
        Assert.Equal(target.Pid, ProcStat.Read(target.Pid).Session); // the target calls setsid()
        Assert.Equal(Environment.ProcessId, status.ParentPid);
    }

    [Fact]
    public void PosixSpawn_NewSessionFlag_MakesASessionLeader()
    {
        string log = Path.Combine(program.Directory, $"true-{Guid.NewGuid():N}.log");
        int pid = PosixSpawn.Spawn("/bin/sleep", ["/bin/sleep", "30"], null, log, newSession: true);
        try
        {
            Wait.Until(() => File.Exists($"/proc/{pid}/stat") && ProcStat.Read(pid).Comm == "sleep",
                Target.Timeout, $"pid {pid} exec'd /bin/sleep");
            var stat = ProcStat.Read(pid);
            Assert.Equal(pid, stat.Session);
            Assert.Equal(pid, stat.ProcessGroup);
        }
        finally
        {
            Native.Kill(pid, Signals.SIGKILL);
            Native.WaitPid(pid, out _, Native.WALL);
        }
    }

    [Fact]
    public void PosixSpawn_MissingProgram_ReportsENOENTWithThePath()
    {
        var failure = Assert.Throws<SysCallException>(() =>
            PosixSpawn.Spawn("/nonexistent/prog", ["prog"], [], "/dev/null", newSession: false));
        Assert.Equal("ENOENT", failure.ErrnoName);
        Assert.Contains("/nonexistent/prog", failure.Message);
    }
}
