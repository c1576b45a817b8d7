using System.CommandLine;

namespace Cryo;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("cryo: checkpoint and restore live Linux process trees");
        return root.Parse(args).Invoke();
    }
}
