using System.Diagnostics;

namespace Cryo.Tests.Engine.Support;

/// <summary>Polls a condition until it holds or a timeout expires; never a fixed sleep.</summary>
internal static class Wait
{
    public static void Until(Func<bool> condition, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; {diagnostics?.Invoke()}");
            Thread.Sleep(1);
        }
    }
}
