using System.Globalization;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// A process stopped by job control (SIGSTOP) is checkpointed as stopped (PINF state 2, the stop's
/// wait status) and comes back stopped, every thread of it, until a SIGCONT lets it go on; then
/// it passes its own check. --leave-running leaves the original stopped.
/// </summary>
public class JobControlTests
{
    private const int SIGSTOP = 19, SIGCONT = 18;

    [Theory]
    [InlineData("sleep")]
    [InlineData("threads")]
    public void A_stopped_process_comes_back_stopped_and_goes_on_after_SIGCONT(string name)
    {
        using var dir = new TestDirectory($"stopped-{name}");
        string image = dir.File("image.cryo");
        int pid;
        using (var program = RunningProgram.Start(name, dir))
        {
            pid = program.Pid;
            Native.Kill(pid, SIGSTOP);
            WaitUntilStopped(pid, program.Describe);
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("cryo checkpoint kills it by default");
        }

        var info = ImageItems.Of<ProcessInfo>(image)[0];
        Assert.Equal((ProcessState.Stopped, 0x7f | SIGSTOP << 8), (info.State, info.ExitStatus));
        Assert.Matches($@"{pid} {name}: .*, stopped by job control \(signal 19\)", CryoTool.Dump("--summary", image).StandardOutput);

        File.Delete(dir.OutFile);
        using var restored = Restored.Start(image, dir);
        Assert.Equal(pid, restored.Pid);
        WaitUntilStopped(pid, () => dir.Describe("restored"));
        // SIGTERM stays pending while the process is stopped; SIGCONT lets it go on to its check.
        Native.Kill(pid, Signals.SIGTERM);
        Assert.True(TaskStates(pid).All(s => s == 'T'), $"the restored process ran on before SIGCONT: {string.Join(",", TaskStates(pid))}");
        Native.Kill(pid, SIGCONT);
        restored.WaitForCryo("after SIGTERM and SIGCONT", expectSuccess: true);
        Assert.Equal("PASS", dir.Verdict());
    }

    [Fact]
    public void Leave_running_leaves_a_stopped_original_stopped()
    {
        using var dir = new TestDirectory("stopped-leave");
        using var program = RunningProgram.Start("sleep", dir);
        Native.Kill(program.Pid, SIGSTOP);
        WaitUntilStopped(program.Pid, program.Describe);
        CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", dir.File("image.cryo"), "--leave-running");
        Assert.True(TaskStates(program.Pid).All(s => s == 'T'), $"the original runs again: {string.Join(",", TaskStates(program.Pid))}");
        Native.Kill(program.Pid, SIGCONT);
        Assert.Equal("PASS", program.Terminate());
    }

    private static void WaitUntilStopped(int pid, Func<string> describe) =>
        Wait.Until(() => TaskStates(pid) is { Count: > 0 } states && states.All(s => s == 'T'), RunningProgram.Timeout,
            $"every thread of pid {pid} in a job-control stop", describe);

    /// <summary>The state letter of every thread of <paramref name="pid"/> (/proc/PID/task/TID/stat, after the comm).</summary>
    private static List<char> TaskStates(int pid)
    {
        var states = new List<char>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                states.Add(stat[stat.LastIndexOf(')') + 2]);
            }
            catch (IOException) { } // a thread that ended meanwhile
        }
        return states;
    }
}
