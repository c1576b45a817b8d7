namespace Cryo.Format;

/// <summary>
/// The one exception for malformed input: it names the byte offset where the problem was found,
/// the item (tag and index) being read, and the reason.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(long offset, string item, string reason)
        : base($"invalid checkpoint file at byte {offset} ({item}): {reason}")
    {
        Offset = offset;
        Item = item;
        Reason = reason;
    }

    /// <summary>Byte offset from the start of the file of the frame or field at fault.</summary>
    public long Offset { get; }

    /// <summary>Which item was being read, e.g. <c>item #12 'VMA '</c> or <c>header</c>.</summary>
    public string Item { get; }

    public string Reason { get; }
}
