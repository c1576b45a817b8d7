namespace Cryo.Bench;

/// <summary>cryo's benchmarks: `dotnet run -c Release --project bench/Cryo.Bench -- format [--gib N] [--runs N] [--dir D]`.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: Cryo.Bench format [--gib N] [--runs N] [--dir D]");
            return args.Length == 0 ? 2 : 0;
        }
        var options = BenchOptions.Parse(args.AsSpan(1));
        return args[0] switch
        {
            "format" => FormatThroughput.Run(options),
            _ => Fail($"unknown benchmark '{args[0]}'"),
        };
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"Cryo.Bench: {message}");
        return 2;
    }
}

public sealed record BenchOptions(int Gib, int Runs, string Directory)
{
    public static BenchOptions Parse(ReadOnlySpan<string> args)
    {
        int gib = 1, runs = 7;
        string dir = Path.GetTempPath();
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--gib": gib = int.Parse(value); i++; break;
                case "--runs": runs = int.Parse(value); i++; break;
                case "--dir": dir = value; i++; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return new BenchOptions(gib, runs, dir);
    }
}
