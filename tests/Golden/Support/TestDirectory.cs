namespace Cryo.Tests.Golden.Support;

/// <summary>A private temporary directory for one test: pidfile, outfile, logs and images.</summary>
public sealed class TestDirectory : IDisposable
{
    public TestDirectory(string prefix) => Path = Directory.CreateTempSubdirectory($"cryo-{prefix}-").FullName;

    public string Path { get; }
    public string PidFile => File("pid");
    public string OutFile => File("out");
    public string LogFile => File("log");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>The program's own verdict, "PASS" or "FAIL: why", or a note that it wrote none.</summary>
    public string Verdict() => System.IO.File.Exists(OutFile) ? System.IO.File.ReadAllText(OutFile).Trim() : "(no outfile written)";

    /// <summary>What the program and cryo said, for failure messages.</summary>
    public string Describe(string what)
    {
        var text = new System.Text.StringBuilder($"{what}; verdict: {Verdict()}");
        foreach (string log in Directory.GetFiles(Path, "*log*"))
            text.Append($"\n--- {System.IO.Path.GetFileName(log)} ---\n{Tail(System.IO.File.ReadAllText(log))}");
        return text.ToString();
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { } // a FIFO or file still held by a dying process: the temp cleaner will take it
    }
}
