namespace Cryo.Proc;

/// <summary>A /proc file could not be read or did not have the expected format.</summary>
internal sealed class ProcFormatException(string file, string reason, Exception? inner = null)
    : Exception($"{file}: {reason}", inner)
{
    public string File { get; } = file;
}

/// <summary>Reads /proc files whole, turning "no such file" into a message that names the pid.</summary>
internal static class ProcFiles
{
    public static string PathOf(int pid, string name) => $"/proc/{pid}/{name}";

    public static string ReadText(int pid, string name) => ReadText(PathOf(pid, name));

    public static string ReadText(string path)
    {
        try
        {
            // /proc files report size 0; File.ReadAllText reads until EOF regardless.
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProcFormatException(path, $"cannot read ({e.Message}); has the process exited?", e);
        }
    }

    public static byte[] ReadBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProcFormatException(path, $"cannot read ({e.Message}); has the process exited?", e);
        }
    }

    public static ulong ParseHex(ReadOnlySpan<char> text, string file, string field) =>
        ulong.TryParse(text, System.Globalization.NumberStyles.AllowHexSpecifier, null, out ulong value)
            ? value
            : throw new ProcFormatException(file, $"{field} '{text}' is not hexadecimal");

    public static long ParseLong(ReadOnlySpan<char> text, string file, string field) =>
        long.TryParse(text, out long value)
            ? value
            : throw new ProcFormatException(file, $"{field} '{text}' is not a number");

    public static ulong ParseULong(ReadOnlySpan<char> text, string file, string field) =>
        ulong.TryParse(text, out ulong value)
            ? value
            : throw new ProcFormatException(file, $"{field} '{text}' is not a number");
}
