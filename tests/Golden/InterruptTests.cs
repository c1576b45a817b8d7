using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;
using Xunit.Abstractions;

namespace Cryo.Tests.Golden;

/// <summary>
/// A checkpoint interrupted by SIGINT or SIGTERM at a random moment must leave the target running
/// as before (it still passes its own check) and leave no file behind, whatever phase cryo was in.
/// </summary>
public class InterruptTests(ITestOutputHelper output)
{
    private const int Trials = 24;

    [Fact]
    public async Task Interrupting_a_checkpoint_never_harms_the_target()
    {
        using var dir = new TestDirectory("interrupt");
        using var program = RunningProgram.Start("memhog", dir, "--mib=48");
        string image = dir.File("image.cryo");

        // How long does an undisturbed checkpoint take? The random moments spread over twice that.
        var clock = Stopwatch.StartNew();
        CryoTool.Must(dir, "checkpoint", program.Pid.ToString(), "-o", image, "--leave-running");
        double span = clock.Elapsed.TotalMilliseconds * 2;
        File.Delete(image);

        var random = new Random(Environment.TickCount);
        int completed = 0, cancelled = 0;
        for (int trial = 0; trial < Trials; trial++)
        {
            int signal = trial % 2 == 0 ? Signals.SIGINT : Signals.SIGTERM;
            int delay = random.Next((int)span);
            using var cts = new CancellationTokenSource(CryoTool.Timeout);
            var run = CryoTool.Cryo("checkpoint", program.Pid.ToString(), "-o", image, "--leave-running").ExecuteBufferedAsync(cts.Token);
            Thread.Sleep(delay); // the random moment itself; what follows waits on conditions
            Native.Kill(run.ProcessId, signal);
            var result = await run;
            if (result.ExitCode == 0) { completed++; File.Delete(image); }
            else
            {
                cancelled++;
                Assert.False(File.Exists(image), $"trial {trial}: a cancelled checkpoint left {image}");
            }
            Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
            Assert.False(program.HasExited(), $"trial {trial} ({delay} ms, signal {signal}): the target died. cryo said: {result.StandardError}\n{program.Describe()}");
            AssertNotStopped(program.Pid, trial);
        }
        output.WriteLine($"{Trials} trials over {span:F0} ms: {completed} completed, {cancelled} cancelled");
        Assert.Equal("PASS", program.Terminate());
    }

    /// <summary>A thread left in a ptrace or group stop would hang the program: check every thread runs.</summary>
    private static void AssertNotStopped(int pid, int trial)
    {
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string stat = File.ReadAllText(Path.Combine(task, "stat"));
            char state = stat[stat.LastIndexOf(')') + 2];
            Assert.True(state is not ('t' or 'T'), $"trial {trial}: {task} is left stopped (state {state})");
        }
    }
}
