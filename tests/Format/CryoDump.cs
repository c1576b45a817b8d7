using System.Text;

namespace Cryo.Tests.Format;

/// <summary>Runs cryo-dump in-process with captured streams.</summary>
public static class CryoDump
{
    public static (int Code, string Stdout, string Stderr) Run(string[] args, byte[]? stdin = null)
    {
        using var output = new MemoryStream();
        using var error = new StringWriter();
        int code = Cryo.Dump.Program.Run(args, new MemoryStream(stdin ?? []), output, error);
        return (code, Encoding.UTF8.GetString(output.ToArray()), error.ToString());
    }
}
