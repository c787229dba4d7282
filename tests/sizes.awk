# sizes.awk: the size limits of src/ (issue 12), run by `make lint`:
# no file over 900 lines, no function over 90 (from its name to its "}").
# Prints each one over, and "N functions, longest L (NAME)" per run.
FNR == 1 {
	if (NR > 1)
		endfile();
	name = ""
}
/^[a-z_][a-z0-9_]*\(/ && prev !~ /^[ \t]/ && prev !~ /;[ \t]*$/ && prev != "" {
	name = $0
	sub(/\(.*/, "", name)
	start = FNR
}
/^}/ && name != "" {
	len = FNR - start + 1
	nfunc++
	if (len > longest) {
		longest = len
		longest_name = FILENAME ":" name
	}
	if (len > 90) {
		printf "%s:%d: function %s is %d lines (at most 90)\n", \
		    FILENAME, start, name, len
		bad = 1
	}
	name = ""
}
{ prev = $0 }
function endfile() {
	if (lines[last] > 900) {
		printf "%s: %d lines (at most 900)\n", last, lines[last]
		bad = 1
	}
}
{ lines[FILENAME] = FNR; last = FILENAME }
END {
	endfile()
	printf "sizes: %d functions, longest %d lines (%s)\n", nfunc, longest, \
	    longest_name
	exit bad
}
