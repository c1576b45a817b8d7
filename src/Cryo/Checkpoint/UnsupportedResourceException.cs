namespace Cryo.Checkpoint;

/// <summary>
/// A resource cryo cannot checkpoint yet. Raised while the image is planned, before anything is
/// written, so the checkpoint is refused and the target runs on unharmed.
/// </summary>
internal sealed class UnsupportedResourceException(int pid, string resource, string why)
    : Exception($"cannot checkpoint pid {pid}: {resource}: {why}")
{
    public int Pid { get; } = pid;
    public string Resource { get; } = resource;
}
