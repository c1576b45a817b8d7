namespace Cryo.Bench;

/// <summary>cryo's benchmarks: `dotnet run -c Release --project bench/Cryo.Bench -- format [--gib N] [--runs N] [--dir D]`.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: Cryo.Bench format [--gib N] [--runs N] [--dir D] | engine [--runs N] [--sizes 64,512,2048] [--areas 30000] [--dir D] [--baseline CRYO] [--warm]");
            return args.Length == 0 ? 2 : 0;
        }
        var options = BenchOptions.Parse(args.AsSpan(1));
        return args[0] switch
        {
            "format" => FormatThroughput.Run(options),
            "engine" => EngineBench.Run(options, Tool("artifacts/aot/cryo"), Tool("testprogs/bin")),
            _ => Fail($"unknown benchmark '{args[0]}'"),
        };
    }

    /// <summary>A path in the repository (the benchmark runs from its root, see docs/benchmarks.md).</summary>
    private static string Tool(string relative)
    {
        string path = Path.GetFullPath(relative);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"{path} is missing: build first (scripts/publish-aot.sh; make -C testprogs)");
        return path;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"Cryo.Bench: {message}");
        return 2;
    }
}

/// <param name="Baseline">another `cryo` executable (e.g. an older build) measured in the same runs, for ratios.</param>
/// <param name="Warm">before each timed command, touch and free as much memory as it will allocate (see EngineBench).</param>
public sealed record BenchOptions(int Gib, int Runs, string Directory, int[] Sizes, string? Baseline, bool Warm = false, int[]? Areas = null)
{
    public static BenchOptions Parse(ReadOnlySpan<string> args)
    {
        int gib = 1, runs = 7;
        string dir = Path.GetTempPath();
        int[] sizes = [64, 512, 2048];
        int[] areas = [];
        string? baseline = null;
        bool warm = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--warm")
            {
                warm = true;
                continue;
            }
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--gib": gib = int.Parse(value); i++; break;
                case "--runs": runs = int.Parse(value); i++; break;
                case "--dir": dir = value; i++; break;
                case "--sizes": sizes = value.Split(',').Select(int.Parse).ToArray(); i++; break;
                case "--areas": areas = value.Split(',').Select(int.Parse).ToArray(); i++; break;
                case "--baseline": baseline = Path.GetFullPath(value); i++; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return new BenchOptions(gib, runs, dir, sizes, baseline, warm, areas);
    }
}
