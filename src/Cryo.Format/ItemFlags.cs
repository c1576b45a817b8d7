namespace Cryo.Format;

/// <summary>The flags word of an item's frame. Bits not named here must be zero.</summary>
[Flags]
public enum ItemFlags : uint
{
    None = 0,
    /// <summary>A reader that does not know the tag must reject the file instead of skipping the item.</summary>
    Critical = 1 << 0,
    /// <summary>Opens a section (<c>X</c>); the payload is empty.</summary>
    SectionBegin = 1 << 1,
    /// <summary>Closes the innermost open section, which must carry the same tag (<c>END X</c>); the payload is empty.</summary>
    SectionEnd = 1 << 2,
}

public static class ItemFlagsExtensions
{
    public const ItemFlags Defined = ItemFlags.Critical | ItemFlags.SectionBegin | ItemFlags.SectionEnd;
}
