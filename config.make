# nginx compiles every source with $(CC) and the C flags; the C++ sources
# also need the language level and hidden symbols, so that the .so exports
# only the module object. PBX_WEBHOOK_WERROR=1 in configure's environment
# makes a warning in the module's own sources an error (scripts/matrix).
pbx_cxxflags="-std=c++17 -fvisibility=hidden -fvisibility-inlines-hidden"
if [ "${PBX_WEBHOOK_WERROR:-0}" = 1 ]; then
    pbx_cxxflags="$pbx_cxxflags -Werror"
fi

for pbx_src in $PBX_WEBHOOK_CORE_SRCS $PBX_WEBHOOK_NGX_SRCS
do
    pbx_obj="$NGX_OBJS/addon/`basename \`dirname $pbx_src\``/`basename $pbx_src .cpp`.o"
    echo "$pbx_obj: CFLAGS += $pbx_cxxflags" >> $NGX_MAKEFILE
done
