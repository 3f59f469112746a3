"""Citizens' photos: made safe to keep (photos.images) and kept private (photos.storage)."""
