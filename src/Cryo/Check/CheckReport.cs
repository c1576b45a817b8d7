using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cryo.Check;

/// <summary>
/// The verdict over probe results: cryo can work when every needed probe is not "missing" (a
/// needed probe that is "degraded" still works, with a limit it names). Renders the table and
/// the JSON (schema "cryo-check/1", see docs/cryo-check.md).
/// </summary>
internal sealed class CheckReport
{
    public const string Schema = "cryo-check/1";

    public CheckReport(IReadOnlyList<ProbeResult> results, string kernel)
    {
        Results = results;
        Kernel = kernel;
        MissingNeeded = results.Where(r => r.Needed && r.Status == ProbeStatus.Missing).ToList();
        Unavailable = results.Where(r => r.Status == ProbeStatus.Missing).SelectMany(r => r.Affects).Distinct().ToList();
        Limited = results.Where(r => r.Status == ProbeStatus.Degraded).SelectMany(r => r.Affects).Distinct().Except(Unavailable).ToList();
    }

    public IReadOnlyList<ProbeResult> Results { get; }
    public string Kernel { get; }
    public IReadOnlyList<ProbeResult> MissingNeeded { get; }

    /// <summary>Features that depend on a probe found missing (needed or optional).</summary>
    public IReadOnlyList<string> Unavailable { get; }

    /// <summary>Features that depend on a degraded probe only (they work, with the limit the detail names).</summary>
    public IReadOnlyList<string> Limited { get; }

    public bool Ok => MissingNeeded.Count == 0;
    public int ExitCode => Ok ? 0 : 1;

    /// <summary>The verdict line for stderr.</summary>
    public string Verdict() => Ok
        ? $"cryo: everything cryo needs is there ({Results.Count(r => r.Needed)} needed probes ok)" +
          (Unavailable.Count > 0 ? $"; unavailable: {string.Join("; ", Unavailable)}" : "")
        : $"cryo: missing what cryo needs: {string.Join(", ", MissingNeeded.Select(r => r.Name))}; unavailable then: {string.Join("; ", Unavailable)}";

    public string Table()
    {
        string[] header = ["probe", "status", "need", "detail", "affects"];
        var rows = Results.Select(r => new[] { r.Name, r.StatusText, r.Needed ? "needed" : "optional", r.Detail, string.Join("; ", r.Affects) }).ToList();
        int[] widths = Enumerable.Range(0, header.Length - 1).Select(i => rows.Select(row => row[i].Length).Append(header[i].Length).Max()).ToArray();
        var text = new StringBuilder();
        void Line(string[] cells)
        {
            for (int i = 0; i < cells.Length; i++)
                text.Append(i < widths.Length ? cells[i].PadRight(widths[i] + 2) : cells[i]);
            text.Append('\n');
        }
        text.Append("kernel ").Append(Kernel).Append('\n');
        Line(header);
        foreach (var row in rows) Line(row);
        return text.ToString();
    }

    public string Json(KernelFeatures features)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("schema", Schema);
            json.WriteString("kernel", Kernel);
            json.WriteString("machine", System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant());
            json.WriteBoolean("ok", Ok);
            json.WriteNumber("exitCode", ExitCode);
            WriteStrings(json, "missingNeeded", MissingNeeded.Select(r => r.Name));
            WriteStrings(json, "unavailable", Unavailable);
            WriteStrings(json, "limited", Limited);
            json.WriteStartArray("probes");
            foreach (var r in Results)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                json.WriteString("status", r.StatusText);
                json.WriteBoolean("needed", r.Needed);
                json.WriteString("detail", r.Detail);
                WriteStrings(json, "affects", r.Affects);
                json.WriteNumber("elapsedMs", Math.Round(r.ElapsedMs, 2));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("features");
            foreach (var (name, value) in features.Entries())
            {
                switch (value)
                {
                    case null: json.WriteNull(name); break;
                    case bool b: json.WriteBoolean(name, b); break;
                    case long l: json.WriteNumber(name, l); break;
                    default: json.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture)); break;
                }
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }
}
