using System.Diagnostics;
using Cryo.Format;

namespace Cryo.Bench;

/// <summary>
/// Writes N GiB of page data through Cryo.Format to a file and reads it back, and in the same run
/// writes and reads the same bytes with plain FileStream calls, so the library's cost shows as a
/// ratio to the raw I/O of this machine at this moment. One warm-up round, then the median of the
/// runs; the file stays in the page cache (nothing is fsynced: the point is the library's cost).
/// </summary>
public static class FormatThroughput
{
    private const int Chunk = 4 << 20; // the engine hands over memory in pieces of about this size

    public static int Run(BenchOptions o)
    {
        long total = (long)o.Gib << 30;
        var data = new byte[Chunk];
        new Random(42).NextBytes(data);
        string path = Path.Combine(o.Directory, $"cryo-bench-{Environment.ProcessId}.cryo");
        var results = new List<double[]>();
        byte[] image;
        try
        {
            for (int round = 0; round <= o.Runs; round++)
            {
                double[] r =
                [
                    Seconds(() => WriteFormat(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0), data, total)),
                    Seconds(() => ReadFormat(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0), total)),
                    Seconds(() => WriteRaw(path, data, total)),
                    Seconds(() => ReadRaw(path, data)),
                    Seconds(() => WriteFormat(Stream.Null, data, total)),
                ];
                if (round > 0) results.Add(r); // round 0 warms up the JIT and the page cache
                Console.Error.WriteLine($"round {round}: " + string.Join(", ", r.Select(s => Rate(total, s))));
            }
            WriteFormat(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0), data, total);
            image = File.ReadAllBytes(path);
        }
        finally { File.Delete(path); }
        var fromMemory = new List<double>();
        for (int round = 0; round <= o.Runs; round++)
        {
            double s = Seconds(() => ReadFormat(new MemoryStream(image, writable: false), total));
            if (round > 0) fromMemory.Add(s);
        }

        double Col(int i) => Median(results.Select(r => r[i]));
        Console.WriteLine($"| {o.Gib} GiB of page data | Cryo.Format | plain FileStream | format / plain |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| write to a file (page cache) | {Rate(total, Col(0))} | {Rate(total, Col(2))} | {Col(2) / Col(0):P0} |");
        Console.WriteLine($"| read from a file, every CRC checked | {Rate(total, Col(1))} | {Rate(total, Col(3))} | {Col(3) / Col(1):P0} |");
        Console.WriteLine($"| library alone: write to Stream.Null | {Rate(total, Col(4))} | | |");
        Console.WriteLine($"| library alone: read from memory | {Rate(total, Median(fromMemory))} | | |");
        Console.WriteLine($"median of {o.Runs} runs after one warm-up; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd}");
        return 0;
    }

    private static void WriteFormat(Stream stream, byte[] data, long total)
    {
        using var writer = new CheckpointWriter(stream, CheckpointHeader.Create("bench", "Cryo.Bench"));
        writer.BeginSection(ItemKinds.Process);
        ulong address = 0x7f0000000000;
        for (long done = 0; done < total; done += data.Length, address += (ulong)data.Length)
            writer.WritePages(address, data);
        writer.EndSection(ItemKinds.Process);
        writer.Complete();
    }

    private static void ReadFormat(Stream stream, long total)
    {
        using var reader = new CheckpointReader(stream);
        long pages = 0;
        while (reader.GetNextItem() is { } item)
            if (item is PageData p) pages += p.Data.Length;
        if (pages != total) throw new InvalidOperationException($"read {pages} bytes of pages, wrote {total}");
    }

    private static void WriteRaw(string path, byte[] data, long total)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        for (long done = 0; done < total; done += data.Length) stream.Write(data);
    }

    private static void ReadRaw(string path, byte[] buffer)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0);
        while (stream.Read(buffer) > 0) { }
    }

    private static double Seconds(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Rate(long bytes, double seconds) => $"{bytes / seconds / 1e6:F0} MB/s";
}
