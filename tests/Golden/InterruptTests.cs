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
            if (result.ExitCode == 0 || File.Exists(image))
            {
                // Finished (the signal may still have ended cryo after the rename): the file must
                // be a complete, valid checkpoint, never a broken one.
                completed++;
                using (var reader = Cryo.Format.CheckpointReader.OpenFile(image)) reader.VerifyToEnd();
                File.Delete(image);
            }
            else cancelled++;
            Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
            Assert.False(program.HasExited(), $"trial {trial} ({delay} ms, signal {signal}): the target died. cryo said: {result.StandardError}\n{program.Describe()}");
            AssertNotStopped(program.Pid, trial);
        }
        output.WriteLine($"{Trials} trials over {span:F0} ms: {completed} completed, {cancelled} cancelled");
        Assert.Equal("PASS", program.Terminate());
    }

    // A SIGKILLed process is not gone at once: once it has taken the SIGKILL off its pending set
    // it stays alive (state R or D, untraced, nothing pending) while do_exit tears down its
    // memory, which takes milliseconds for 48 MiB. Only the PF_EXITING flag in /proc/PID/stat
    // tells such a process from a completed restore; without it this test mistook dying
    // processes for restored ones.
    [Fact]
    public async Task Killing_a_restore_leaves_no_half_restored_process()
    {
        using var dir = new TestDirectory("kill-restore");
        string image = dir.File("image.cryo");
        int pid;
        using (var program = RunningProgram.Start("memhog", dir, "--mib=48"))
        {
            pid = program.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(), "-o", image);
            program.WaitForExit("checkpointed");
        }
        var clock = Stopwatch.StartNew();
        using (Restored.Start(image, dir)) { } // kills the restored process and waits for cryo
        double span = clock.Elapsed.TotalMilliseconds * 1.5;

        var random = new Random(Environment.TickCount);
        int gone = 0, dying = 0, complete = 0;
        for (int trial = 0; trial < 12; trial++)
        {
            // The previous trial's process may still await its reaping by init: the pid must be free.
            Support.Wait.Until(() => !Directory.Exists($"/proc/{pid}"), RunningProgram.Timeout, $"pid {pid} to be free", () => dir.Describe("restore"));
            File.Delete(dir.OutFile);
            int delay = random.Next((int)span);
            using var cts = new CancellationTokenSource(CryoTool.Timeout);
            var run = CryoTool.Cryo("restore", image, "--detach").ExecuteBufferedAsync(cts.Token);
            Thread.Sleep(delay); // the random moment itself
            Native.Kill(run.ProcessId, Signals.SIGKILL);
            await run;
            // Either the kernel killed the half-restored process with cryo (PTRACE_O_EXITKILL), or
            // the restore had completed: then the process is whole and passes its own check. cryo
            // has been reaped, so an EXITKILL SIGKILL is queued by now: exit_ptrace clears the
            // tracer first and sends SIGKILL right after, so an untraced process alone proves nothing.
            Support.Wait.Until(() => !Alive(pid) || !Traced(pid), RunningProgram.Timeout, $"pid {pid} to die or be released", () => dir.Describe("restore"));
            if (!Alive(pid)) { gone++; continue; }
            if (KillPending(pid) || Exiting(pid)) { dying++; continue; }
            complete++;
            Native.Kill(pid, Signals.SIGTERM);
            Support.Wait.Until(() => File.Exists(dir.OutFile) && !Alive(pid), RunningProgram.Timeout, $"restored pid {pid} (trial {trial}, SIGKILL after {delay} ms) to finish its check",
                () => $"{ProcessState(pid)}\n{dir.Describe("restore")}");
            Assert.Equal("PASS", dir.Verdict());
        }
        output.WriteLine($"12 SIGKILLs of cryo restore over {span:F0} ms: {gone} left nothing, {dying} were being killed, {complete} completed and passed");
    }

    private static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    /// <summary>What a hung process is doing, for the failure message.</summary>
    private static string ProcessState(int pid)
    {
        try
        {
            var status = File.ReadAllLines($"/proc/{pid}/status").Where(l => l.Split(':')[0] is "State" or "TracerPid" or "SigPnd" or "ShdPnd" or "SigBlk" or "SigIgn" or "SigCgt" or "PPid");
            return $"pid {pid}: {string.Join(", ", status)}; syscall {File.ReadAllText($"/proc/{pid}/syscall").Trim()}; wchan {File.ReadAllText($"/proc/{pid}/wchan")}";
        }
        catch (IOException e) { return $"pid {pid}: {e.Message}"; }
    }

    /// <summary>SIGKILL (bit 8) in the thread's or the process's pending set: the process is on its way out.</summary>
    private static bool KillPending(int pid)
    {
        try
        {
            return File.ReadAllLines($"/proc/{pid}/status")
                .Where(l => l.StartsWith("SigPnd:") || l.StartsWith("ShdPnd:"))
                .Any(l => (Convert.ToUInt64(l.Split('\t')[1].Trim(), 16) & (1UL << 8)) != 0);
        }
        catch (IOException) { return true; } // already gone
    }

    /// <summary>PF_EXITING (0x4) in the flags field of /proc/PID/stat: the process is in do_exit.</summary>
    private static bool Exiting(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (uint.Parse(fields[6]) & 0x4) != 0; // fields: state ppid pgrp session tty_nr tpgid flags
        }
        catch (IOException) { return true; } // already gone
    }

    private static bool Traced(int pid)
    {
        try { return File.ReadAllLines($"/proc/{pid}/status").Any(l => l.StartsWith("TracerPid:") && l.Split('\t')[1].Trim() != "0"); }
        catch (IOException) { return false; }
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
