using System.ComponentModel;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using Cryo.Dump;
using Cryo.Format;
using Xunit;

namespace Cryo.Tests.Format;

/// <summary>
/// The two sides of the Kaitai cross-check and their comparison. One side is
/// tests/Format/Kaitai/crosscheck.js, which compiles formats/cryo.ksy at run time and prints a
/// file in the shape of <c>cryo-dump --json</c>; the other is Cryo.Format's reader feeding
/// cryo-dump's own <see cref="JsonPrinter"/>, exactly as <c>cryo-dump --json</c> does.
/// </summary>
public static class KaitaiCrossCheck
{
    private static readonly string[] NpmPackages = ["kaitai-struct-compiler", "kaitai-struct", "js-yaml"];

    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cryo.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Cryo.sln in {AppContext.BaseDirectory} or any folder above it");
    });

    /// <summary>The repository root: the first folder above the test binaries that holds Cryo.sln.</summary>
    public static string RepoRoot => Root.Value;

    public static string KaitaiDirectory => Path.Combine(RepoRoot, "tests", "Format", "Kaitai");
    public static string Script => Path.Combine(KaitaiDirectory, "crosscheck.js");
    public static string Ksy => Path.Combine(RepoRoot, "formats", "cryo.ksy");
    public static string SamplesDirectory => Path.Combine(RepoRoot, "tests", "Format", "samples");

    public static string Relative(string path) => Path.GetRelativePath(RepoRoot, path);

    /// <summary>What node printed, its error output and exit code.</summary>
    public sealed record ScriptResult(int ExitCode, string Output, string Error);

    /// <summary>
    /// Runs crosscheck.js on <paramref name="file"/> (against <paramref name="ksy"/>, default
    /// formats/cryo.ksy). Fails the test, never skips it, when node or the npm packages are missing.
    /// </summary>
    public static async Task<ScriptResult> RunScriptAsync(string file, string? ksy = null)
    {
        var missing = NpmPackages.Where(p => !File.Exists(Path.Combine(KaitaiDirectory, "node_modules", p, "package.json"))).ToList();
        if (missing.Count > 0)
            Assert.Fail($"the npm packages of the Kaitai cross-check are not installed ({string.Join(", ", missing)} missing in " +
                $"{Relative(Path.Combine(KaitaiDirectory, "node_modules"))}): run `npm ci` in tests/Format/Kaitai " +
                "(from the repository root: npm ci --prefix tests/Format/Kaitai)");
        var args = new List<string> { Script };
        if (ksy is not null) args.AddRange(["--ksy", ksy]);
        args.Add(file);
        BufferedCommandResult result;
        try
        {
            result = await Cli.Wrap("node")
                .WithArguments(args)
                .WithWorkingDirectory(KaitaiDirectory)
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(Encoding.UTF8);
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"cannot run node ({e.Message}): the Kaitai cross-check needs Node.js on PATH, " +
                "then `npm ci` in tests/Format/Kaitai (npm ci --prefix tests/Format/Kaitai)");
            throw;
        }
        if (result.ExitCode == 3) Assert.Fail($"crosscheck.js: {result.StandardError.Trim()}");
        return new ScriptResult(result.ExitCode, result.StandardOutput, result.StandardError);
    }

    /// <summary>The Kaitai side: crosscheck.js's JSON for the file; fails the test if the script rejects it.</summary>
    public static async Task<JsonDocument> KaitaiJsonAsync(string file, string? ksy = null)
    {
        var result = await RunScriptAsync(file, ksy);
        if (result.ExitCode != 0)
            Assert.Fail($"the Kaitai side (formats/cryo.ksy through crosscheck.js) could not read {Label(file)} (exit {result.ExitCode}):\n{result.Error.Trim()}");
        try
        {
            return JsonDocument.Parse(result.Output);
        }
        catch (JsonException e)
        {
            Assert.Fail($"crosscheck.js printed invalid JSON for {Label(file)}: {e.Message}\n{result.Output[..Math.Min(2000, result.Output.Length)]}");
            throw;
        }
    }

    /// <summary>The C# side: exactly what <c>cryo-dump --json FILE</c> prints (reader with unknown items, JsonPrinter).</summary>
    public static JsonDocument CSharpJson(string file)
    {
        var output = new MemoryStream();
        try
        {
            using var reader = CheckpointReader.OpenFile(file, returnUnknownItems: true);
            using (var json = new JsonPrinter(output, null))
            {
                json.Header(reader.Header);
                while (reader.GetNextItem() is { } item) json.Item(item, reader);
                json.Trailer(reader.Trailer!);
            }
        }
        catch (CheckpointFormatException e)
        {
            Assert.Fail($"the C# reader rejects {Label(file)}: {e.Message}");
        }
        output.Position = 0;
        return JsonDocument.Parse(output);
    }

    public static string Label(string file) =>
        Path.GetFullPath(file).StartsWith(RepoRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? Relative(file) : file;

    /// <summary>Cross-checks one file and fails the test with every difference, naming file, item and field.</summary>
    public static async Task AssertAgreeAsync(string file)
    {
        using var expected = CSharpJson(file);
        using var actual = await KaitaiJsonAsync(file);
        var differences = Compare(expected.RootElement, actual.RootElement);
        if (differences.Count > 0) Assert.Fail(Report(file, differences));
    }

    public static string Report(string file, IReadOnlyList<string> differences)
    {
        const int Shown = 60;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Kaitai cross-check of {Label(file)}: {differences.Count} difference(s) between the C# reader (cryo-dump --json) and formats/cryo.ksy (crosscheck.js):");
        foreach (string d in differences.Take(Shown)) text.AppendLine(CultureInfo.InvariantCulture, $"  {d}");
        if (differences.Count > Shown) text.AppendLine(CultureInfo.InvariantCulture, $"  ... and {differences.Count - Shown} more");
        return text.ToString();
    }

    /// <summary>
    /// Compares two cryo-dump/1 documents item by item: count, then for each item index, offset,
    /// tag, frame, critical, length and every field (names in order, values exactly: numbers by
    /// their decimal digits, so 64-bit values are compared without rounding).
    /// </summary>
    public static List<string> Compare(JsonElement csharp, JsonElement kaitai)
    {
        var diffs = new List<string>();
        CompareNames("document", csharp, kaitai, diffs);
        CompareValue("schema", Get(csharp, "schema"), Get(kaitai, "schema"), diffs);
        CompareFields("header: field ", Get(csharp, "header"), Get(kaitai, "header"), diffs);
        var a = Get(csharp, "items");
        var b = Get(kaitai, "items");
        if (a is { ValueKind: JsonValueKind.Array } && b is { ValueKind: JsonValueKind.Array })
        {
            int na = a.Value.GetArrayLength(), nb = b.Value.GetArrayLength();
            if (na != nb) diffs.Add($"items: C# reads {na} items, Kaitai {nb}");
            for (int i = 0; i < Math.Max(na, nb); i++)
            {
                JsonElement? x = i < na ? a.Value[i] : null, y = i < nb ? b.Value[i] : null;
                var shown = x ?? y!.Value;
                string where = $"items[{i}] (item #{Text(Get(shown, "index"))} '{Text(Get(shown, "tag"))}')";
                if (x is null || y is null) diffs.Add($"{where}: only {(x is null ? "Kaitai" : "C#")} has it");
                else CompareItem(where, x.Value, y.Value, diffs);
            }
        }
        else
        {
            CompareValue("items", a, b, diffs);
        }
        CompareFields("trailer: field ", Get(csharp, "trailer"), Get(kaitai, "trailer"), diffs);
        return diffs;
    }

    private static readonly string[] FrameKeys = ["index", "offset", "tag", "frame", "critical", "length"];

    private static void CompareItem(string where, JsonElement a, JsonElement b, List<string> diffs)
    {
        CompareNames(where, a, b, diffs);
        foreach (string key in FrameKeys) CompareValue($"{where}: {key}", Get(a, key), Get(b, key), diffs);
        CompareFields($"{where}: field ", Get(a, "fields"), Get(b, "fields"), diffs);
    }

    /// <summary>Field objects: same names in the same order, then each value.</summary>
    private static void CompareFields(string prefix, JsonElement? a, JsonElement? b, List<string> diffs)
    {
        if (a is not { ValueKind: JsonValueKind.Object } || b is not { ValueKind: JsonValueKind.Object })
        {
            CompareValue(prefix.TrimEnd(), a, b, diffs);
            return;
        }
        CompareNames(prefix.TrimEnd(), a.Value, b.Value, diffs);
        foreach (var p in a.Value.EnumerateObject())
            if (b.Value.TryGetProperty(p.Name, out var other)) CompareValue(prefix + p.Name, p.Value, other, diffs);
    }

    private static void CompareNames(string where, JsonElement a, JsonElement b, List<string> diffs)
    {
        var na = a.EnumerateObject().Select(p => p.Name).ToList();
        var nb = b.EnumerateObject().Select(p => p.Name).ToList();
        foreach (string n in na.Except(nb)) diffs.Add($"{where}: '{n}' is missing on the Kaitai side (C# has {Text(a.GetProperty(n))})");
        foreach (string n in nb.Except(na)) diffs.Add($"{where}: '{n}' is only on the Kaitai side ({Text(b.GetProperty(n))})");
        if (!na.Intersect(nb).SequenceEqual(nb.Intersect(na)))
            diffs.Add($"{where}: the order differs: C# {string.Join(", ", na)}; Kaitai {string.Join(", ", nb)}");
    }

    private static JsonElement? Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : null;

    private static string Text(JsonElement? e) => e is null ? "?" : e.Value.ValueKind == JsonValueKind.String ? e.Value.GetString()! : e.Value.GetRawText();

    private static void CompareValue(string where, JsonElement? a, JsonElement? b, List<string> diffs)
    {
        if (a is null || b is null)
        {
            if (a is not null || b is not null) diffs.Add($"{where}: {(a is null ? "missing on the C# side" : "missing on the Kaitai side")}");
            return;
        }
        JsonElement x = a.Value, y = b.Value;
        if (x.ValueKind != y.ValueKind && !(IsBool(x) && IsBool(y)))
        {
            diffs.Add($"{where}: C# {x.GetRawText()}, Kaitai {y.GetRawText()} (different JSON kinds)");
            return;
        }
        switch (x.ValueKind)
        {
            case JsonValueKind.Object:
                CompareNames(where, x, y, diffs);
                foreach (var p in x.EnumerateObject())
                    if (y.TryGetProperty(p.Name, out var other)) CompareValue($"{where}.{p.Name}", p.Value, other, diffs);
                break;
            case JsonValueKind.Array:
                if (x.GetArrayLength() != y.GetArrayLength())
                    diffs.Add($"{where}: C# has {x.GetArrayLength()} entries, Kaitai {y.GetArrayLength()}");
                for (int i = 0; i < Math.Min(x.GetArrayLength(), y.GetArrayLength()); i++)
                    CompareValue($"{where}[{i}]", x[i], y[i], diffs);
                break;
            case JsonValueKind.Number:
                if (!NumberEquals(x.GetRawText(), y.GetRawText()))
                    diffs.Add($"{where}: C# {x.GetRawText()}, Kaitai {y.GetRawText()}");
                break;
            case JsonValueKind.String:
                if (x.GetString() != y.GetString())
                    diffs.Add($"{where}: C# {x.GetRawText()}, Kaitai {y.GetRawText()}");
                break;
            default:
                if (x.GetRawText() != y.GetRawText())
                    diffs.Add($"{where}: C# {x.GetRawText()}, Kaitai {y.GetRawText()}");
                break;
        }
    }

    private static bool IsBool(JsonElement e) => e.ValueKind is JsonValueKind.True or JsonValueKind.False;

    /// <summary>Exact comparison of integers of any size; anything else by its text.</summary>
    private static bool NumberEquals(string a, string b) =>
        BigInteger.TryParse(a, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var x) &&
        BigInteger.TryParse(b, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var y)
            ? x == y
            : a == b;
}
