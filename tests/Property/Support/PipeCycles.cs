using System.Runtime.InteropServices;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;

namespace Cryo.Tests.Property.Support;

/// <summary>The checkpoint/restore cycles the properties and the explicit cases run on pipeset.</summary>
public static class PipeCycles
{
    /// <summary>
    /// P3: checkpoint (the original is killed), restore, SIGTERM: the restored program must find
    /// every pipe exact (bytes, packets, capacity, slots, flags, connected ends), and cryo must not
    /// warn. Returns what `cryo restore` printed. A drain the engine must refuse is checked as such
    /// (the original keeps its pipes and passes) and nothing is restored.
    /// </summary>
    public static string CheckpointKillRestore(PipeSet set, string prefix = "p3")
    {
        using var dir = new TestDirectory(prefix);
        string image = dir.File("image.cryo");
        PipeLayout[] layout;
        using (var program = PipeSetProgram.Start(dir, set))
        {
            layout = program.Layout;
            var checkpoint = program.Checkpoint(image, set.Strategy, leaveRunning: false);
            if (set.Strategy == PipeStrategy.Drain && set.DrainRefuses)
            {
                PipeChecks.AssertDrainRefused(checkpoint, image, program.Pid, program.Describe);
                PipeChecks.AssertReport(program.Terminate(), set, layout, "after a refused drain", checkpoint.StandardError);
                return "";
            }
            if (checkpoint.ExitCode != 0)
                throw new PipePropertyException($"cryo checkpoint exited {checkpoint.ExitCode}: {checkpoint.StandardError}\n{program.Describe()}");
            program.Program.WaitForExit("cryo checkpoint kills it");
        }
        Func<string> describe = () => $"case: {set}\n{dir.Describe("restored pipeset")}";
        using var restored = RestoredProgram.Start(image, dir, $"case: {set}");
        File.Delete(dir.File("report"));
        File.Delete(dir.OutFile);
        var result = restored.Terminate();
        var report = PipeReport.Read(dir.File("report"), dir.Verdict(), describe);
        PipeChecks.AssertReport(report, set, layout, "after checkpoint, kill and restore", result.StandardError);
        if (result.ExitCode != 0)
            throw new PipePropertyException($"cryo restore exited {result.ExitCode}: {result.StandardError}\n{describe()}");
        if (result.StandardError.Contains("warning", StringComparison.Ordinal))
            throw new PipePropertyException($"cryo restore warned: {result.StandardError}\n{describe()}");
        return result.StandardError;
    }

    /// <summary>
    /// Waits until the program's only thread sleeps in write() on a pipe: /proc/PID/syscall starts
    /// with "1 ", and wchan is [anon_]pipe_write, or, where wchan is always 0 (kernels before 5.16
    /// built with the ORC unwinder, Debian's 5.10), the kernel stack (/proc/PID/stack) has pipe_write.
    /// </summary>
    public static void WaitUntilBlockedInWrite(int pid, Func<string> describe) =>
        Wait.Until(() =>
        {
            try
            {
                if (!File.ReadAllText($"/proc/{pid}/syscall").StartsWith("1 ", StringComparison.Ordinal)) return false;
                string wchan = File.ReadAllText($"/proc/{pid}/wchan");
                return wchan != "0"
                    ? wchan.Contains("pipe_write", StringComparison.Ordinal) // anon_pipe_write on 6.18
                    : File.ReadAllText($"/proc/{pid}/stack").Contains("pipe_write", StringComparison.Ordinal);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        }, RunningProgram.Timeout, $"pid {pid} to block in write() on its full pipe", describe);

    /// <summary>
    /// Reads exactly <paramref name="expected"/> from fd <paramref name="fd"/> of <paramref name="pid"/>
    /// through a reader of our own (/proc/PID/fd/N, O_NONBLOCK), polling until all arrived (the
    /// blocked writer supplies the tail as room appears), and compares.
    /// </summary>
    public static unsafe void ReadFromProcess(int pid, int fd, byte[] expected, Func<string> describe)
    {
        string path = $"/proc/{pid}/fd/{fd}";
        int reader = Native.Open(path, Native.O_RDONLY | Native.O_NONBLOCK | Native.O_CLOEXEC, 0);
        if (reader < 0) throw new PipePropertyException($"open {path}: errno {Marshal.GetLastPInvokeError()}\n{describe()}");
        try
        {
            var got = new byte[expected.Length];
            int total = 0;
            string last = "";
            Wait.Until(() =>
            {
                while (total < got.Length)
                {
                    nint n;
                    fixed (byte* b = got) n = Native.Read(reader, b + total, (nuint)(got.Length - total));
                    if (n > 0) { total += (int)n; continue; }
                    int errno = Marshal.GetLastPInvokeError();
                    if (n < 0 && errno == ErrnoNames.EAGAIN) return false;
                    last = n == 0 ? "EOF" : $"errno {errno}";
                    return true; // give up: reported below
                }
                return true;
            }, RunningProgram.Timeout, $"{expected.Length} bytes from {path} (have {total})", describe);
            if (total != expected.Length)
                throw new PipePropertyException($"reading {path}: {last} after {total} of {expected.Length} bytes\n{describe()}");
            if (!got.AsSpan().SequenceEqual(expected))
            {
                int at = 0;
                while (got[at] == expected[at]) at++;
                throw new PipePropertyException($"reading {path}: byte {at} is 0x{got[at]:x2}, expected 0x{expected[at]:x2}\n{describe()}");
            }
        }
        finally
        {
            Native.Close(reader);
        }
    }
}
