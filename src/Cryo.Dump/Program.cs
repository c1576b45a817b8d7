using System.CommandLine;
using Cryo.Format;

namespace Cryo.Dump;

/// <summary>cryo-dump: look inside a checkpoint file. Exit codes: 0 ok, 1 invalid file, 2 usage.</summary>
public static class Program
{
    public const int ExitOk = 0, ExitInvalid = 1, ExitUsage = 2;

    public static int Main(string[] args)
    {
        using var stdin = Console.OpenStandardInput();
        using var stdout = Console.OpenStandardOutput();
        return Run(args, stdin, stdout, Console.Error);
    }

    /// <summary>The whole tool with its three streams given, so that tests can run it in-process.</summary>
    public static int Run(string[] args, Stream stdin, Stream stdout, TextWriter stderr)
    {
        var file = new Argument<string>("file") { Description = "checkpoint file, or - for standard input" };
        var json = new Option<bool>("--json") { Description = "print every item as JSON (schema cryo-dump/1, see docs/cryo-dump.md)" };
        var normalize = new Option<bool>("--normalize") { Description = "print the golden form: volatile values replaced by stable placeholders" };
        var summary = new Option<bool>("--summary") { Description = "print the process tree, memory per process, descriptors and pipes" };
        var verify = new Option<bool>("--verify") { Description = "check every checksum and the trailer; print nothing but the verdict" };
        var items = new Option<string?>("--items") { Description = "only print items with these tags, e.g. --items PINF,FINF,FBUF" };
        var alias = new Option<string[]>("--path-alias")
        {
            Description = "with --normalize: rewrite paths under FROM as TO (FROM=TO; repeatable)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var root = new RootCommand("cryo-dump: show what a cryo checkpoint file holds") { file, json, normalize, summary, verify, items, alias };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) stderr.WriteLine($"cryo-dump: {error.Message}");
            stderr.WriteLine("usage: cryo-dump [--json|--normalize|--summary|--verify] [--items TAG,...] [--path-alias FROM=TO] FILE|-   (see --help)");
            return ExitUsage;
        }
        // No action is set on the command, so an action here is --help or --version.
        if (parsed.Action is not null) return parsed.Invoke(new InvocationConfiguration { Output = new StreamWriter(stdout) { AutoFlush = true }, Error = stderr }); // --help, --version

        var modes = new List<DumpMode>();
        if (parsed.GetValue(json)) modes.Add(DumpMode.Json);
        if (parsed.GetValue(normalize)) modes.Add(DumpMode.Normalize);
        if (parsed.GetValue(summary)) modes.Add(DumpMode.Summary);
        if (parsed.GetValue(verify)) modes.Add(DumpMode.Verify);
        if (modes.Count > 1)
        {
            stderr.WriteLine($"cryo-dump: choose one of --json, --normalize, --summary, --verify (got {string.Join(", ", modes)})");
            return ExitUsage;
        }
        var aliases = new List<(string, string)>();
        foreach (string a in parsed.GetValue(alias) ?? [])
        {
            int eq = a.IndexOf('=');
            if (eq <= 0) { stderr.WriteLine($"cryo-dump: --path-alias takes FROM=TO, not '{a}'"); return ExitUsage; }
            aliases.Add((a[..eq].TrimEnd('/'), a[(eq + 1)..]));
        }
        var tags = parsed.GetValue(items) is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => t.PadRight(4)).ToHashSet()
            : null;
        var options = new DumpOptions(modes.Count == 0 ? DumpMode.Tree : modes[0], tags, aliases);
        return Dump(parsed.GetValue(file)!, options, stdin, stdout, stderr);
    }

    private static int Dump(string path, DumpOptions options, Stream stdin, Stream stdout, TextWriter stderr)
    {
        Stream input;
        try
        {
            input = path == "-" ? stdin : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"cryo-dump: cannot open {path}: {e.Message}");
            return ExitInvalid;
        }
        using var text = new StreamWriter(stdout, leaveOpen: true) { AutoFlush = false };
        try
        {
            using var reader = new CheckpointReader(input, leaveOpen: path == "-", returnUnknownItems: true);
            Print(reader, options, text, stdout);
            return ExitOk;
        }
        catch (CheckpointFormatException e)
        {
            text.Flush();
            stderr.WriteLine($"cryo-dump: {path}: {e.Message}");
            return ExitInvalid;
        }
        catch (IOException e)
        {
            text.Flush();
            stderr.WriteLine($"cryo-dump: reading {path} failed: {e.Message}");
            return ExitInvalid;
        }
    }

    private static void Print(CheckpointReader reader, DumpOptions options, StreamWriter text, Stream stdout)
    {
        switch (options.Mode)
        {
            case DumpMode.Verify:
                reader.VerifyToEnd();
                text.WriteLine($"ok: {reader.Trailer!.ItemCount} items, {reader.BytesRead} bytes, every checksum verified");
                break;
            case DumpMode.Json:
                using (var json = new JsonPrinter(stdout, options.Tags))
                {
                    json.Header(reader.Header);
                    while (reader.GetNextItem() is { } item) json.Item(item, reader);
                    json.Trailer(reader.Trailer!);
                }
                break;
            case DumpMode.Summary:
                var summary = new SummaryPrinter(text);
                summary.Header(reader.Header);
                while (reader.GetNextItem() is { } item) summary.Item(item);
                summary.Trailer(reader.Trailer!, reader.BytesRead);
                break;
            default:
                var tree = new TreePrinter(text, options.Tags, options.Mode == DumpMode.Normalize ? new Normalizer(options.PathAliases) : null);
                tree.Header(reader.Header);
                int depth = 0;
                while (reader.GetNextItem() is { } item)
                {
                    if (item is SectionEnd) depth--;
                    tree.Item(item, depth, reader);
                    if (item is SectionBegin) depth++;
                }
                tree.Trailer(reader.Trailer!);
                break;
        }
        text.Flush();
    }
}
