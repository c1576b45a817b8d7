namespace Cryo.Tests.Golden.Support;

/// <summary>
/// An overlayfs of its own for one test (lower, upper and work directories under
/// <c>BASE</c>, mounted at BASE/merged), as a container's root is one; unmounted on Dispose.
/// </summary>
public sealed class OverlayMount : IDisposable
{
    public OverlayMount(string basePath)
    {
        string root = Directory.CreateDirectory(basePath).FullName;
        foreach (string part in new[] { "lower", "upper", "work", "merged" }) Directory.CreateDirectory(System.IO.Path.Combine(root, part));
        Path = System.IO.Path.Combine(root, "merged");
        TmpfsMount.Run("mount", "-t", "overlay", "-o",
            $"lowerdir={root}/lower,upperdir={root}/upper,workdir={root}/work", "overlay", Path);
    }

    public string Path { get; }

    public void Dispose() => TmpfsMount.Run("umount", Path);
}
