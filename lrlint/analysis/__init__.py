"""The static pass: one LibCST walk collects what the rules need to know about a script."""
