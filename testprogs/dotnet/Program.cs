// dotnetapp --pidfile=F --outfile=O [--mib=32]
//
// A .NET program under the common protocol of testprogs/README.md: the runtime brings state
// the C programs do not have. Its double-mapped code lives in a memfd ("doublemapper"), its
// write barriers need membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) registered, its GC stops
// threads with signals, and it runs several threads (finalizer, timers, thread pool).
// The program builds a dictionary of 200000 entries and MIB MiB of arrays with a pattern,
// runs a thread that counts in a loop with Thread.Sleep(1) and a timer every 20 ms, then
// waits for SIGTERM (PosixSignalRegistration; registered before the pidfile is written).
// On SIGTERM: pid and session identity, every entry and array, the counter and the timer
// move on, a thread-pool task runs, and after a full compacting GC the data is checked again.
using System.Runtime.InteropServices;

static partial class Program
{
    [LibraryImport("libc", SetLastError = true)] private static partial int setsid();
    [LibraryImport("libc")] private static partial int getsid(int pid);
    [LibraryImport("libc")] private static partial int getpgrp();

    private static readonly List<string> Failures = [];
    private static string Prefix => $"dotnetapp[{Environment.ProcessId}]";

    private static int Main(string[] args)
    {
        var options = args.Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        string pidfile = options.GetValueOrDefault("--pidfile") ?? throw new ArgumentException("--pidfile= is required");
        string outfile = options.GetValueOrDefault("--outfile") ?? throw new ArgumentException("--outfile= is required");
        int mib = int.Parse(options.GetValueOrDefault("--mib") ?? "32");
        foreach (string key in options.Keys.Except(["--pidfile", "--outfile", "--mib"]))
        {
            Console.Error.WriteLine($"{Prefix}: unknown option {key}");
            return 1;
        }

        var term = new ManualResetEventSlim();
        using var registration = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; term.Set(); });

        int seed = Environment.ProcessId ^ (int)DateTime.UtcNow.Ticks;
        var table = new Dictionary<int, string>();
        for (int i = 0; i < 200_000; i++) table[i] = Entry(seed, i);
        var arrays = new List<long[]>();
        for (int a = 0; a < mib * 2; a++)
        {
            var array = new long[512 * 128]; // 512 KiB each
            for (int i = 0; i < array.Length; i++) array[i] = Word(seed, a, i);
            arrays.Add(array);
        }
        long counter = 0, ticks = 0;
        var counting = new Thread(() => { while (true) { Interlocked.Increment(ref counter); Thread.Sleep(1); } }) { IsBackground = true, Name = "counting" };
        counting.Start();
        using var timer = new Timer(_ => Interlocked.Increment(ref ticks), null, 20, 20);
        GC.Collect(); // the runtime's membarrier, GC suspension and write barriers have all run once

        int pid = Environment.ProcessId;
        if (setsid() < 0) { WriteAtomically(outfile, $"FAIL: setsid: errno {Marshal.GetLastPInvokeError()}\n"); return 1; }
        WriteAtomically(pidfile, $"{pid}\n");
        Console.Error.WriteLine($"{Prefix}: ready (pidfile {pidfile})");

        term.Wait();
        Console.Error.WriteLine($"{Prefix}: SIGTERM received");
        var watchdog = new Timer(_ => { WriteAtomically(outfile, "FAIL: timeout in the checks\n"); Environment.Exit(1); }, null, 120_000, Timeout.Infinite);

        if (int.Parse(File.ReadAllText(pidfile).Trim()) != pid) Fail($"getpid() is {pid}, the pidfile says {File.ReadAllText(pidfile).Trim()}");
        if (getsid(0) != pid || getpgrp() != pid) Fail($"session {getsid(0)} and group {getpgrp()}, expected both {pid}");
        CheckData(seed, table, arrays, "before the GC");

        long counted = Interlocked.Read(ref counter), ticked = Interlocked.Read(ref ticks);
        var moved = System.Diagnostics.Stopwatch.StartNew();
        while ((Interlocked.Read(ref counter) <= counted + 20 || Interlocked.Read(ref ticks) <= ticked + 3) && moved.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(10);
        if (Interlocked.Read(ref counter) <= counted + 20) Fail($"the counting thread stopped at {Interlocked.Read(ref counter)} (was {counted})");
        if (Interlocked.Read(ref ticks) <= ticked + 3) Fail($"the timer stopped at {Interlocked.Read(ref ticks)} ticks (was {ticked})");

        int answer = Task.Run(async () => { await Task.Delay(30); return 6 * 7; }).GetAwaiter().GetResult();
        if (answer != 42) Fail($"a thread-pool task answered {answer}");
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        CheckData(seed, table, arrays, "after a full compacting GC");

        watchdog.Dispose();
        string verdict = Failures.Count == 0 ? "PASS" : $"FAIL: {Failures[0]}{(Failures.Count > 1 ? $" (+{Failures.Count - 1} more failures, see stderr)" : "")}";
        WriteAtomically(outfile, verdict + "\n");
        Console.Error.WriteLine($"{Prefix}: result: {(Failures.Count == 0 ? "PASS" : "FAIL")}");
        return Failures.Count == 0 ? 0 : 1;
    }

    private static string Entry(int seed, int i) => $"{seed:x8}-{i * 7919}";

    private static long Word(int seed, int array, int i) => ((long)seed << 32) ^ ((long)array << 20) ^ i;

    private static void CheckData(int seed, Dictionary<int, string> table, List<long[]> arrays, string when)
    {
        if (table.Count != 200_000) Fail($"{when}: the dictionary has {table.Count} entries, expected 200000");
        for (int i = 0; i < 200_000; i++)
            if (!table.TryGetValue(i, out string? value) || value != Entry(seed, i)) { Fail($"{when}: entry {i} is '{value}', expected '{Entry(seed, i)}'"); break; }
        for (int a = 0; a < arrays.Count; a++)
            for (int i = 0; i < arrays[a].Length; i++)
                if (arrays[a][i] != Word(seed, a, i)) { Fail($"{when}: array {a} word {i} is {arrays[a][i]:x}, expected {Word(seed, a, i):x}"); return; }
    }

    private static void Fail(string why)
    {
        Console.Error.WriteLine($"{Prefix}: FAIL: {why}");
        Failures.Add(why);
    }

    /// <summary>The protocol's atomic write: PATH.tmp.PID, fsync, rename.</summary>
    private static void WriteAtomically(string path, string text)
    {
        string temporary = $"{path}.tmp.{Environment.ProcessId}";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
